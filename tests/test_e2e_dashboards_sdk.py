"""Every dashboard query and every alerting and recording rule against a real Prometheus scraping the same
workload produced through the unmodified Agents SDK with otelagents' plugin (``e2e_sdk_workload``): the
dashboards and alert rules work unchanged on either runner. The checks are those of
``test_e2e_dashboards``, run here over this module's ``scraped`` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require_binary
from tests.e2e_sdk_workload import SDKWorkload
from tests.e2e_workload import Scraped, scraped_workload
from tests.test_e2e_dashboards import (
    RULES_FILE,
    test_alerts_pending_are_exactly_those_the_workload_deserves,
    test_every_panel_query_returns_data,
    test_every_rule_expression_evaluates,
    test_every_slo_option_is_a_bucket_bound_with_data,
    test_prometheus_loaded_and_evaluates_every_rule_healthily,
    test_variable_queries_find_this_runs_job_instance_agents_and_models,
)

__all__ = [
    "test_alerts_pending_are_exactly_those_the_workload_deserves",
    "test_every_panel_query_returns_data",
    "test_every_rule_expression_evaluates",
    "test_every_slo_option_is_a_bucket_bound_with_data",
    "test_prometheus_loaded_and_evaluates_every_rule_healthily",
    "test_variable_queries_find_this_runs_job_instance_agents_and_models",
]


@pytest.fixture(scope="module")
def scraped() -> Iterator[Scraped]:
    with scraped_workload(require_binary("prometheus"), rule_files=[str(RULES_FILE)],
                          workload_type=SDKWorkload) as result:
        yield result


def test_the_workload_ran_on_the_sdk(scraped: Scraped) -> None:
    assert isinstance(scraped.workload, SDKWorkload)
    names = {s.name for s in scraped.workload.spans()}
    assert {"invoke_agent Spanish Agent", "execute_tool broken_tool", "execute_tool transfer_to_spanish_agent"} <= names
