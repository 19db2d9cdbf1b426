"""What a pathological message costs against a normal one (issue 17: aim ≤ 3×).

    python benchmarks/pathological.py       (writes benchmarks/results/pathological.json)

Each input goes through parse() 20 times after a warm-up; the median is compared with the
median of a normal question.  Texts are cut to text.MAX_CHARS (500) before anything reads them,
so 10,000 characters cost what 500 do; a character or a piece of up to 24 repeated back to
back is read as three copies, and a run of digits stops at 24.  The last two inputs repeat
nothing: they show what length itself costs.
"""

from __future__ import annotations

import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from overdue_bot import Bot  # noqa: E402

NORMAL = "好分期逾期两天会联系我的联系人吗"
INPUTS = {
    "10,000 digits": "1" * 10000,
    "10,000 identical characters": "逾" * 10000,
    "alternating scripts": "a逾1期" * 2500,
    "durations back to back": "3天" * 5000,
    "Chinese numerals": "一二三四五六七八九十" * 1000,
    "digits and spaces": "1 " * 5000,
    "amounts back to back": "1万2" * 3000,
    "a real question 30 times": (NORMAL + "，") * 30,
    # no repetition to collapse: these cost what their length costs
    "500 different characters": "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(500)),
    "a 500-character story": (
        "去年我失业了，手上有花呗和借呗，还有两张信用卡，一共欠了大概八万多，"
        "现在花呗已经逾期两个月，借呗逾期四十天，招行信用卡也逾期了一个月，"
        "每个月工资只有四千，房租就要一千五，家里老人还生病住院，"
        "催收天天打电话，还说要给我家里人和单位打电话，我很害怕，"
        "不知道会不会被起诉，会不会坐牢，征信是不是已经黑了，"
        "以后还能不能贷款买房，我现在每个月最多能拿出一千块来还，"
        "应该先还哪个，可以跟他们协商分期吗，他们会同意停息挂账吗，"
    )
    * 2,
}


def _median_ms(bot: Bot, text: str) -> float:
    bot.parse(text)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        bot.parse(text)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    bot = Bot()
    base = _median_ms(bot, NORMAL)
    rows = {"normal question": {"ms": round(base, 3), "ratio": 1.0}}
    for name, text in INPUTS.items():
        ms = _median_ms(bot, text)
        rows[name] = {"ms": round(ms, 3), "ratio": round(ms / base, 1)}
    for name, row in rows.items():
        print(f"{name:28} {row['ms']:8.2f} ms  ×{row['ratio']}")
    out = ROOT / "benchmarks" / "results" / "pathological.json"
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
