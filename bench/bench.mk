# bench/ rules; owned by the benchmark harness.
