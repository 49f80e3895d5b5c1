"""Use the scheduler alone: when may each of 50,000 messages go?

Run it: ``python examples/plan_send_times.py``
"""

from __future__ import annotations

from datetime import datetime, timedelta

import reviewkit as rk

warsaw = rk.load_zone("Europe/Warsaw")
window = rk.SendWindow(
    weekdays="mon-fri", hours="09:00-12:00,13:00-17:00", holidays=rk.HolidayCalendar("PL")
)
start = datetime(2027, 3, 26, 16, 0, tzinfo=warsaw)  # the clocks go forward that weekend
plan = rk.plan_send_times(start, 50_000, window, warsaw, timedelta(seconds=5))

print(
    f"next send time after {start:%a %d %b %H:%M}: "
    f"{rk.next_send_time(start, window, warsaw):%a %d %b %H:%M %Z}"
)
for run in plan.runs():
    first = datetime.fromtimestamp(run.first, warsaw)
    last = datetime.fromtimestamp(run.last, warsaw)
    print(f"{first:%a %d %b %H:%M:%S %Z} - {last:%H:%M:%S}  {run.count:>5} messages")

times = list(plan)
assert len(times) == 50_000
assert all(window.contains(t, warsaw) for t in times)
