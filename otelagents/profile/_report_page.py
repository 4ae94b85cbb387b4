"""The Jinja2 templates of ``report.html`` and ``compare.html`` (autoescaped; the plots and plotly.js are passed
in as markup). Both extend one page, ``BASE``: the same head, style, plot grid and resize script."""

BASE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{% block title %}{% endblock %}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1f2328; }
  h1 { font-size: 1.4em; margin-bottom: 4px; }
  .meta { color: #59636e; margin-bottom: 16px; }
  .grid { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
  @media (max-width: 1000px) { .grid { grid-template-columns: minmax(0, 1fr); } }
  .plot { border: 1px solid #d1d9e0; border-radius: 6px; padding: 4px; min-width: 0; overflow: hidden; }
  table { border-collapse: collapse; margin: 8px 0 24px; font-variant-numeric: tabular-nums; }
  th, td { border-bottom: 1px solid #d1d9e0; padding: 4px 10px; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  td.trace { font-family: ui-monospace, monospace; }
  .trace, th.trace { text-align: left; }
  .error { color: #cf222e; }
</style>
<script>{{ plotly_js }}</script>
</head>
<body>
{% block heading %}{% endblock %}
<div class="grid">
{% for plot_id, plot in plots.items() %}  <div class="plot">{{ plot }}</div>
{% endfor %}</div>
{% block tables %}{% endblock %}
<script>
  // Plots drawn while the page was still laying out may have the wrong width: fit them once it is done.
  window.addEventListener("load", function () {
    document.querySelectorAll(".plotly-graph-div").forEach(function (plot) { Plotly.Plots.resize(plot); });
  });
</script>
</body>
</html>
"""

PAGE = """{% extends "base" %}
{% block title %}otelagents profile: {{ document.target.model }}{% endblock %}
{% block heading %}<h1>otelagents profile: {{ document.target.model }}</h1>
<div class="meta">
  {% if document.target.base_url %}{{ document.target.base_url }} over the {{ document.target.api }} API
  {%- else %}the offline scripted model{% endif %}
  &middot; scenario <b>{{ document.target.scenario }}</b>
  &middot; {{ document.settings.requests }} requests per level
  {% if document.settings.rate %}&middot; released at {{ document.settings.rate }} requests/s{% endif %}
  {% if document.settings.slo %}&middot; SLO
  {%- for name, limit in document.settings.slo.items() %} {{ name }} &le; {{ limit }} s
  {%- if not loop.last %},{% endif %}{% endfor %}{% endif %}
  &middot; {{ document.created }}
</div>{% endblock %}
{% block tables %}<h2>Results (latencies in ms, exact percentiles)</h2>
<table id="results">
  <thead><tr>{% for cell in header %}<th>{{ cell }}</th>{% endfor %}</tr></thead>
  <tbody>
  {% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
  {% endfor %}</tbody>
</table>
<h2>Slowest requests</h2>
<table id="slowest">
  <thead><tr><th>concurrency</th><th>request</th><th>E2E ms</th><th>TTFT ms</th><th>output tokens</th>
    <th>error</th><th class="trace">trace</th></tr></thead>
  <tbody>
  {% for r in slowest %}<tr>
    <td>{{ r.concurrency }}</td><td>{{ r.index }}</td><td>{{ "%.1f" % (r.e2e_s * 1000) }}</td>
    <td>{% if r.ttft_s is not none %}{{ "%.1f" % (r.ttft_s * 1000) }}{% else %}-{% endif %}</td>
    <td>{{ r.output_tokens }}</td><td class="error">{{ r.error or "" }}</td>
    <td class="trace">{% if r.link %}<a href="{{ r.link }}">{{ r.trace_id }}</a>
    {%- else %}{{ r.trace_id or "-" }}{% endif %}</td>
  </tr>
  {% endfor %}</tbody>
</table>{% endblock %}
"""

COMPARE_PAGE = """{% extends "base" %}
{% block title %}otelagents profile: A {{ a.target.model }} vs B {{ b.target.model }}{% endblock %}
{% block heading %}<h1>otelagents profile: A vs B</h1>
<div class="meta" id="runs">
  {% for label, run, path in (("A", a, path_a), ("B", b, path_b)) %}<div><b>{{ label }}</b> {{ path }}:
  model {{ run.target.model }}, {% if run.target.base_url %}{{ run.target.base_url }} over the {{ run.target.api }}
  API{% else %}the offline scripted model{% endif %}, scenario {{ run.target.scenario }},
  {{ run.settings.requests }} requests per level &middot; {{ run.created }}</div>
  {% endfor %}
</div>{% endblock %}
{% block tables %}<h2>A &rarr; B at the load levels both ran (latencies in ms, exact percentiles)</h2>
<table id="compare">
  <thead><tr>{% for cell in header %}<th>{{ cell }}</th>{% endfor %}</tr></thead>
  <tbody>
  {% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
  {% endfor %}</tbody>
</table>{% endblock %}
"""
