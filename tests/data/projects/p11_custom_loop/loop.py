from metrics_factory import make_metrics

metrics = make_metrics()
for epoch in range(10):
    for batch in dataset:
        pass
    for metric in metrics:
        metric.reset_states()
