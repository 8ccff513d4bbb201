"""The StackState 6 / SUSE Observability stages: the metrics path receiver -> vmagent ->
VictoriaMetrics -> metric bindings (docs/v6/facts.md). The agent stage is shared with 5."""
