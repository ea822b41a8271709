"""Lesson mode in the browser (issue 13): open the classroom lesson, record a prediction before
play, play, and see the prediction against what happened — in English and in 中文."""

from __future__ import annotations

import pytest
from regionsim.model.model import RegionModel
from regionsim.viz.lesson import load_lesson, measured, outcome
from regionsim.viz.svg import fmt_number

from tests.browser.test_dashboard import pick, step, wait_year


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_classroom_lesson_predict_play_compare(offline, artifacts, lang):
    lesson = load_lesson("classroom")
    first = lesson.steps[0]
    model = RegionModel("classroom", rng=0)
    base = model.region.base_year
    truth = outcome(model.run(), first)  # hand check: Mill Town receives factories
    assert truth is not None and truth[2] == "up" and truth[0] == 0
    page = offline.open()
    pick(page, "rs-scenario", "classroom")
    wait_year(page, base)
    page.wait_for_selector(".rs-view-lesson")
    if lang == "zh":
        page.locator(".rs-lang").click()
        page.wait_for_selector(".rs-step:has-text('单步')")
    page.locator(".rs-view-lesson").click()
    title = page.locator(".rs-lesson-title").inner_text()
    assert title == lesson.say("title", lang)
    assert page.locator(".rs-lesson-question").inner_text().strip() == first.say("question", lang)
    assert page.locator(".rs-lesson-wait").count() == 1, "no result before play"
    page.locator(".rs-predict-down").click()  # the class predicts wrongly: Mill Town loses units
    page.wait_for_selector(".rs-predict-down.v-btn--has-bg, .rs-predict-down.primary")
    step(page, 3)
    result = page.locator(".rs-lesson-result")
    # the result as of the third year: the panel is redrawn apart from the year on top, and shows a result from
    # the first step on
    page.wait_for_selector(f".rs-lesson-result:has-text('→ {base + 3}')")
    assert page.locator(".rs-lesson-said").get_attribute("data-choice") == "down"
    assert page.locator(".rs-lesson-happened").get_attribute("data-choice") == "up"
    text = result.inner_text()
    expected = ("not as predicted", "goes up") if lang == "en" else ("与预测不同", "增加")
    assert all(word in text for word in expected), text
    three = RegionModel("classroom", rng=0)
    for _ in range(3):
        three.step()
    now = measured(three, first.measure, -1)
    assert now > 0 and f"{base} 0 → {base + 3} {fmt_number(now, 1, lang)}" in text, text
    assert page.locator(".rs-predict-up").is_disabled(), "predictions are made before play"
    page.screenshot(path=str(artifacts / f"lesson_{lang}.png"))

    # a step with its own levers: "Set up this step" switches joint control off and starts again
    page.locator(".rs-lesson-next").click()
    page.locator(".rs-lesson-next").click()
    page.wait_for_selector(".rs-lesson-k:text-matches('Step 3 of|第3步')")
    page.locator(".rs-lesson-setup").click()
    wait_year(page, base)
    # the run-state line is redrawn apart from the year: wait for its new text (the old one has no digit)
    page.wait_for_selector(".rs-running:has-text('1')")
    page.locator(".rs-predict-down").click()
    step(page, 1)
    page.wait_for_selector(".rs-lesson-verdict")
