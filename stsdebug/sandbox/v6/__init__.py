"""The StackState 6 sandbox: the real VictoriaMetrics and vmagent, a receiver that remote-writes
to vmagent, the synthetic agent, a cloud plugin writing to vmagent, and metric bindings."""
