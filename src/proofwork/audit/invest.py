"""Where to invest: the top risks across the four failure modes, ranked, as data.

Each risk names the files, the evidence, and the hiring signals whose levels would address it,
so a team's risks can later be matched against vetted candidates' signals. Weights are a
judgement of how likely each risk is to hurt in production, on a 0-100 scale.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from proofwork.audit.knowledge import is_authored

MAINTAINABILITY = "maintainability"
TESTING = "testing_discipline"
OPERABILITY = "operability"
PRODUCTION = "production_readiness"


@dataclass(frozen=True)
class Risk:
    area: str  # maintainability | knowledge | testing | monitoring | traffic
    title: str
    files: tuple[str, ...]
    evidence: str
    signals: tuple[str, ...]
    weight: int

    def to_json(self) -> dict[str, Any]:
        """Plain JSON form."""
        data = asdict(self)
        data["files"] = list(self.files)
        data["signals"] = list(self.signals)
        return data


def rank(risks: list[Risk], limit: int = 10) -> list[Risk]:
    """Heaviest first; ties by area then title, so the order is stable."""
    return sorted(risks, key=lambda r: (-r.weight, r.area, r.title))[:limit]


def hotspot_risks(hotspots: list[dict[str, Any]]) -> list[Risk]:
    """The top hotspots that are both complex and often changed."""
    risks = []
    for spot in hotspots[:3]:
        if spot["complexity"] < 10 or spot["changes"] < 3:
            continue
        weight = min(80, 40 + spot["changes"] + spot["complexity"] // 5)
        risks.append(
            Risk(
                "maintainability",
                f"hotspot {spot['path']}",
                (spot["path"],),
                f"changed {spot['changes']} times by {_count(spot['authors'], 'person', 'people')} "
                f"in the window; "
                f"complexity {spot['complexity']} over {spot['lines']} lines",
                (MAINTAINABILITY, TESTING),
                weight,
            )
        )
    return risks


def coupling_risks(pairs: list[dict[str, Any]]) -> list[Risk]:
    """Files in different top-level packages that keep changing together."""
    risks = []
    for pair in pairs:
        first, second = pair["first"], pair["second"]
        if first.split("/", 1)[0] == second.split("/", 1)[0]:
            continue
        if not (is_authored(first) and is_authored(second)):
            continue  # CI files and configuration change together by nature
        risks.append(
            Risk(
                "maintainability",
                f"hidden coupling {first} ↔ {second}",
                (first, second),
                f"changed together in {pair['shared']} commits ({pair['degree']}% coupling)",
                (MAINTAINABILITY,),
                35 + pair["degree"] // 5,
            )
        )
    return risks[:2]


def knowledge_risks(knowledge: dict[str, Any]) -> list[Risk]:
    """A low truck factor, whole or per package, and knowledge already lost."""
    risks = []
    whole = knowledge["truck_factor"]
    if whole["files"] and whole["value"] <= 1:
        risks.append(
            Risk(
                "knowledge",
                f"truck factor {whole['value']} for the whole repository",
                (),
                f"if {_people(whole['authors'])} left, over half of the "
                f"{whole['files']} files would have no author",
                (MAINTAINABILITY, OPERABILITY),
                90,
            )
        )
    for package in knowledge["packages"]:
        if package["package"] == "." or package["files"] < 3 or package["value"] > 1:
            continue
        risks.append(
            Risk(
                "knowledge",
                f"truck factor {package['value']} in {package['package']}/",
                (package["package"] + "/",),
                f"if {_people(package['authors'])} left, over half of its "
                f"{package['files']} files would have no author",
                (MAINTAINABILITY, OPERABILITY),
                60 + min(20, package["files"] // 5),
            )
        )
    lost = knowledge["loss"]
    if lost:
        risks.append(
            Risk(
                "knowledge",
                f"{len(lost)} file(s) whose authors have all left",
                tuple(item["path"] for item in lost[:10]),
                f"no author active in the last {knowledge['inactive_months']} months",
                (MAINTAINABILITY,),
                50 + min(30, len(lost)),
            )
        )
    return risks


def testing_risks(testing: dict[str, Any], hotspot_files: tuple[str, ...]) -> list[Risk]:
    """No tests, failing tests, low coverage or weak tests."""
    metrics = testing["metrics"]
    total = metrics.get("tests.total")
    risks = []
    if not total:
        risks.append(
            Risk(
                "testing", "no tests ran", (), "the repository's suite ran no test", (TESTING,), 85
            )
        )
        return risks
    if metrics.get("tests.failed"):
        risks.append(
            Risk(
                "testing",
                f"{metrics['tests.failed']} failing test(s)",
                (),
                f"{metrics['tests.failed']} of {total} tests fail on HEAD",
                (TESTING, PRODUCTION),
                70,
            )
        )
    coverage = metrics.get("tests.coverage_percent")
    if isinstance(coverage, int | float) and coverage < 60:
        risks.append(
            Risk(
                "testing",
                f"line coverage {coverage:.0f}%",
                (),
                f"the suite runs {coverage:.0f}% of the source lines",
                (TESTING,),
                55 + int((60 - coverage) // 3),
            )
        )
    mutation = metrics.get("mutation.priority_score_percent", metrics.get("mutation.score_percent"))
    if isinstance(mutation, int | float) and mutation < 60:
        risks.append(
            Risk(
                "testing",
                f"weak tests on the hotspots (mutation score {mutation:.0f}%)",
                hotspot_files,
                f"the suite catches {mutation:.0f}% of the bugs planted in the top hotspots",
                (TESTING,),
                60 + int((60 - mutation) // 3),
            )
        )
    return risks


def monitoring_risks(monitoring: dict[str, Any], findings: list[dict[str, Any]]) -> list[Risk]:
    """No logging, swallowed errors, no health endpoint."""
    risks = []
    swallowed = [f for f in findings if f["rule"] == "audit.swallowed_error"]
    if monitoring["web_service"] and not monitoring["logging_configured"]:
        risks.append(
            Risk(
                "monitoring",
                "logging is never set up",
                (),
                f"{monitoring['logging_calls']} log calls, but no logging configuration",
                (OPERABILITY,),
                45,
            )
        )
    if swallowed:
        files = tuple(dict.fromkeys(f["path"] for f in swallowed))
        risks.append(
            Risk(
                "monitoring",
                f"{len(swallowed)} swallowed error(s)",
                files[:10],
                "broad `except` blocks that neither log nor re-raise",
                (OPERABILITY, PRODUCTION),
                50 + min(25, 5 * len(swallowed)),
            )
        )
    if monitoring["web_service"] and not monitoring["health_endpoints"]:
        risks.append(
            Risk(
                "monitoring",
                "no health endpoint",
                (),
                "a web service without /health or /healthz: orchestrators cannot tell it died",
                (OPERABILITY,),
                40,
            )
        )
    return risks


TRAFFIC_WEIGHTS = {
    "audit.sleep_in_request": 70,
    "audit.http_without_timeout": 60,
    "audit.query_in_loop": 55,
    "ruff.ASYNC": 65,
    "audit.unbounded_read": 35,
}


def traffic_risks(findings: list[dict[str, Any]]) -> list[Risk]:
    """One risk per kind of traffic smell, weighted by how badly it degrades under load."""
    risks = []
    for rule, weight in TRAFFIC_WEIGHTS.items():
        found = [f for f in findings if f["rule"].startswith(rule)]
        if not found:
            continue
        files = tuple(dict.fromkeys(f["path"] for f in found))
        first = found[0]
        risks.append(
            Risk(
                "traffic",
                f"{len(found)} x {rule.removeprefix('audit.').replace('_', ' ')}",
                files[:10],
                f"e.g. {first['path']}:{first['line']}: {first['message']}",
                (PRODUCTION,),
                weight + min(20, 2 * len(found)),
            )
        )
    return risks


def _people(names: list[str]) -> str:
    return " and ".join(names) if names else "nobody"


def _count(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"
