"""Time-aware routing (issue 14): availability, on-call rotations and turnaround clocks, as pure rules."""
