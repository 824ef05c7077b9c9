"""Triton model repositories: the written config.pbtxt parsed with Triton's own protobuf
schema (tritonclient's model_config_pb2) and checked against the exported graph."""

import numpy as np
import onnx
import pytest

from conftest import FAST
from gruforecast import GRUForecaster, OnnxForecaster
from gruforecast.cli import main

model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2")
text_format = pytest.importorskip("google.protobuf.text_format")


@pytest.fixture(scope="module")
def forecaster():
    from gruforecast.datasets import load_air_passengers

    return GRUForecaster(**FAST, horizon=3).fit(load_air_passengers())


def parsed(path):
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def test_the_repository_holds_the_graph_and_a_config_that_matches_it(forecaster, tmp_path):
    folder = forecaster.export_triton(tmp_path / "models", name="sales", max_batch_size=512)
    assert folder == tmp_path / "models" / "sales"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "1",
        "1/model.onnx",
        "config.pbtxt",
    ]
    config = parsed(folder / "config.pbtxt")
    assert config.name == "sales" and config.backend == "onnxruntime"
    assert config.max_batch_size == 512 and config.HasField("dynamic_batching")
    graph = onnx.load(folder / "1" / "model.onnx").graph
    for declared, actual in ((config.input, graph.input), (config.output, graph.output)):
        assert [t.name for t in declared] == [t.name for t in actual]
        for tensor, value in zip(declared, actual, strict=True):
            assert tensor.data_type == model_config_pb2.TYPE_FP64
            assert value.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
            dims = [d.dim_value or d.dim_param for d in value.type.tensor_type.shape.dim]
            # Triton's dims leave out the batch axis that max_batch_size > 0 implies
            assert isinstance(dims[0], str) and list(tensor.dims) == dims[1:]
    assert list(config.input[0].dims) == [forecaster.window_]
    assert list(config.output[0].dims) == [forecaster.horizon_]
    # the served graph is the exported one: the same forecasts as the estimator
    windows = np.random.default_rng(0).normal(300, 50, (4, forecaster.window_))
    np.testing.assert_allclose(
        OnnxForecaster(folder / "1" / "model.onnx").predict(windows),
        forecaster.predict(windows),
        rtol=1e-6,
    )


def test_a_second_export_replaces_the_model_and_bad_names_are_refused(forecaster, tmp_path):
    forecaster.export_triton(tmp_path, max_batch_size=8)
    forecaster.export_triton(tmp_path, max_batch_size=16)
    assert parsed(tmp_path / "gruforecast" / "config.pbtxt").max_batch_size == 16
    for name in ("", "a/b", "..", ".hidden"):
        with pytest.raises(ValueError, match="name must be a plain folder name"):
            forecaster.export_triton(tmp_path, name=name)
    with pytest.raises(ValueError, match="max_batch_size"):
        forecaster.export_triton(tmp_path, max_batch_size=0)


def test_the_cli_writes_a_repository(forecaster, tmp_path, capsys):
    model = forecaster.save(tmp_path / "m.gruf")
    assert main(["export", str(model), "--triton", str(tmp_path / "repo"), "--name", "m"]) == 0
    assert "config.pbtxt" in capsys.readouterr().out
    assert parsed(tmp_path / "repo" / "m" / "config.pbtxt").max_batch_size == 4096
    assert main(["export", str(model), "--triton", str(tmp_path / "repo"), "--name", "a/b"]) == 2
    assert "plain folder name" in capsys.readouterr().err
