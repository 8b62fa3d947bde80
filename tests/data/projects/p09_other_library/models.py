import deepchem as dc


def make_model(n_tasks):
    return dc.models.GraphConvModel(n_tasks, mode="classification")
