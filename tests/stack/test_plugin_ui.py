"""
The Enterprise jobs page in the real Airflow UI, driven by headless Chromium (Debian's, through Playwright).

A real DAG run fails for good and is dead-lettered; the test logs in on Airflow's login page, opens the page
from Airflow's navigation (an iframe of ``/enterprise/ui/``), replays the dead letter with its button, and
saves a screenshot. The replay run then succeeds and supersedes the dead letter; the page shows its job's tries and
its data-quality checks (the example's warn check on the input's amounts warns on the sample data).
"""

from __future__ import annotations

import os
import re
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from airflow_provider_enterprise.hooks.metadata import JobKey
from airflow_provider_enterprise.resilience.dead_letter import DeadLetterQueue, replay_run_id
from support.env import EXAMPLE_DAGS, REPO
from support.stack import EXAMPLE_DAG, EXAMPLE_TASK, USERS, dead_letter_of_a_late_input

pytestmark = pytest.mark.stack
expect.set_options(timeout=30_000)  # the api-server shares two cores with the whole stack

SAMPLE = EXAMPLE_DAGS / "data" / "transactions.csv"
CHROMIUM = os.environ.get("ENTERPRISE_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("ENTERPRISE_SCREENSHOT_DIR", REPO / ".ci-work" / "screenshots"))
# Chromium's background services would try this machine's closed network at every start.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def logged_in_page(stack, user: str = "editor") -> Iterator[Page]:
    """A page of headless Chromium, logged in on Airflow's own login page."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            page.goto(f"{stack.base_url}/")  # Airflow sends an anonymous visitor to its login page
            page.locator("input[name='username']").fill(user)
            page.locator("input[name='password']").fill(USERS[user][1])
            page.locator("button[type='submit']").click()
            page.wait_for_url(re.compile(r"^(?!.*/auth/login).*$"))
            yield page
        finally:
            browser.close()


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_replay_a_dead_letter_from_the_airflow_ui(airflow_stack, stack_registry, tmp_path: Path) -> None:
    letter = dead_letter_of_a_late_input(airflow_stack, stack_registry, tmp_path / "late.csv")
    letter_id = letter["dead_letter_id"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    screenshot = SCREENSHOTS / "enterprise-ui.png"

    with logged_in_page(airflow_stack) as page:
        page.get_by_role("button", name="Browse").click()  # the plugin's page is in the Browse menu
        page.get_by_role("menuitem", name="Enterprise jobs").click()
        page.wait_for_url(f"{airflow_stack.base_url}/plugin/enterprise")
        frame = page.frame_locator("iframe")
        expect(frame.locator("body[data-ready='true']")).to_be_attached()
        row = frame.locator(f"[data-testid='dead-letter-{letter_id}']")
        expect(row).to_contain_text("InputNotFoundError")
        expect(frame.locator("[data-testid='jobs']")).to_contain_text(EXAMPLE_DAG)
        expect(frame.locator("[data-testid='health']")).to_have_text("health: healthy")

        frame.locator(f"[data-testid='replay-{letter_id}']").click()
        run_id = replay_run_id(letter_id)
        expect(frame.locator("[data-testid='message']")).to_have_text(
            f"Dead letter {letter_id}: triggered run {run_id} of {EXAMPLE_DAG}"
        )
        # the open-letters list no longer has it; the "replayed" list does, with its run
        expect(frame.locator(f"[data-testid='replay-{letter_id}']")).to_have_count(0)
        frame.locator("#dead-letter-status").select_option("replayed")
        expect(frame.locator(f"[data-testid='dead-letter-{letter_id}']")).to_contain_text(run_id)
        page.screenshot(path=str(screenshot), full_page=True)

    width, height = png_size(screenshot)
    assert (width, height) >= (1440, 900)
    assert screenshot.stat().st_size > 40_000, "the screenshot is nearly blank"
    assert airflow_stack.wait_for_run(EXAMPLE_DAG, run_id) == "success"
    final = DeadLetterQueue(stack_registry).get(letter_id)
    assert (final["status"], final["replay_run_id"]) == ("superseded", run_id)

    replayed = stack_registry.find_job(JobKey(EXAMPLE_DAG, run_id, EXAMPLE_TASK))
    with logged_in_page(airflow_stack, user="viewer") as page:
        page.goto(f"{airflow_stack.base_url}/enterprise/ui/")
        expect(page.locator("body[data-ready='true']")).to_be_attached()
        page.locator(f"[data-testid='show-job-{replayed['job_id']}']").click()
        expect(page.locator("[data-testid='job-detail']")).to_be_visible()
        expect(page.locator("[data-testid='job-attempts']")).to_contain_text("succeeded")
        checks = page.locator("[data-testid='job-checks'] tbody tr")
        expect(checks).to_have_count(len(replayed["attempts"][-1]["checks"]))
        # the range check on the input's amounts warns; which others pass depends on the runs before (row_count)
        for check in replayed["attempts"][-1]["checks"]:
            row = checks.filter(has_text=check["name"]).first
            expect(row).to_contain_text(check["outcome"])
        expect(checks.filter(has_text="input:input").filter(has_text="warned")).to_have_count(1)
        page.screenshot(path=str(SCREENSHOTS / "enterprise-job-checks.png"), full_page=True)


def runs_of(stack, dag_id: str) -> set[str]:
    return {r["dag_run_id"] for r in stack.client.get(f"/api/v2/dags/{dag_id}/dagRuns").json()["dag_runs"]}


def test_the_generic_job_dags_trigger_form_starts_a_job(airflow_stack, stack_registry, tmp_path: Path) -> None:
    from airflow_provider_enterprise.hooks.metadata import JobKey
    from airflow_provider_enterprise.operators.job_dag import JOB_DAG_ID, JOB_TASK_ID

    airflow_stack.wait_for_dag(JOB_DAG_ID)
    before = runs_of(airflow_stack, JOB_DAG_ID)
    output = tmp_path / "from_the_form"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with logged_in_page(airflow_stack) as page:
        page.goto(f"{airflow_stack.base_url}/dags/{JOB_DAG_ID}")
        page.get_by_role("button", name="Trigger").first.click()
        dialog = page.get_by_role("dialog")
        expect(dialog.locator("#element_job_name")).to_be_visible()
        dialog.locator("#element_job_name").fill("form_job")
        dialog.locator("#element_input_path").fill(str(SAMPLE))
        dialog.locator("#element_output_path").fill(str(output))
        page.screenshot(path=str(SCREENSHOTS / "enterprise-job-trigger-form.png"))
        dialog.get_by_role("button", name="Trigger").last.click()
        expect(dialog).to_be_hidden()

    deadline = time.monotonic() + 30
    while not (new := runs_of(airflow_stack, JOB_DAG_ID) - before):
        assert time.monotonic() < deadline, "the form created no run"
        time.sleep(0.5)
    (run_id,) = new
    assert airflow_stack.wait_for_run(JOB_DAG_ID, run_id) == "success"
    job = stack_registry.find_job(JobKey(JOB_DAG_ID, run_id, JOB_TASK_ID))
    assert (job["job_name"], job["status"], job["attempts"][0]["rows_in"]) == ("form_job", "succeeded", 10_000)
    assert (output / "_SUCCESS").exists()
