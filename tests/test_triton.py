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
    for name in ("", "a/b", "..", ".hidden", 'x"y', 'x\nbackend: "python"', "-x", "é"):
        with pytest.raises(ValueError, match="name must be a plain model name"):
            forecaster.export_triton(tmp_path, name=name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gruforecast"]
    for name in ("sales", "sales_v2", "store-7.daily", "_x"):
        forecaster.export_triton(tmp_path, name=name)
        assert parsed(tmp_path / name / "config.pbtxt").name == name
    with pytest.raises(ValueError, match="max_batch_size"):
        forecaster.export_triton(tmp_path, max_batch_size=0)


def test_the_cli_writes_a_repository(forecaster, tmp_path, capsys):
    model = forecaster.save(tmp_path / "m.gruf")
    assert main(["export", str(model), "--triton", str(tmp_path / "repo"), "--name", "m"]) == 0
    assert "config.pbtxt" in capsys.readouterr().out
    assert parsed(tmp_path / "repo" / "m" / "config.pbtxt").max_batch_size == 4096
    assert main(["export", str(model), "--triton", str(tmp_path / "repo"), "--name", "a/b"]) == 2
    assert "plain model name" in capsys.readouterr().err
    # a second version, for the Python backend: refused, the config is the model's
    assert main(["export", str(model), "--triton", str(tmp_path / "repo"), "--name", "m",
                 "--triton-version", "2", "--triton-backend", "python"]) == 2
    assert "--replace" in capsys.readouterr().err
    assert main(["export", str(model), "--triton", str(tmp_path / "repo"), "--name", "m",
                 "--triton-version", "2", "--triton-backend", "python", "--replace"]) == 0
    assert "python backend" in capsys.readouterr().out
    folder = tmp_path / "repo" / "m"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "2", "2/model.onnx", "2/model.py", "config.pbtxt"]
    assert parsed(folder / "config.pbtxt").backend == "python"


def test_a_version_that_does_not_match_the_repositorys_config_is_refused(forecaster, tmp_path):
    other = GRUForecaster(**FAST, horizon=3, window=12).fit(forecaster.state_.last_window.tolist() * 6)
    first = forecaster.export_triton(tmp_path, name="sales")
    before = {p: p.read_bytes() for p in first.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match=r"describes backend onnxruntime, windows \[72\] in .* this model "
                       r"backend onnxruntime, windows \[12\] in .*version 2 would not match.*replace=True"):
        other.export_triton(tmp_path, name="sales", version=2)
    assert {p: p.read_bytes() for p in first.rglob("*") if p.is_file()} == before  # untouched
    # the same shapes: a second version beside the first, under the one config
    forecaster.export_triton(tmp_path, name="sales", version=2, max_batch_size=64)
    assert sorted(p.name for p in first.iterdir()) == ["1", "2", "config.pbtxt"]
    assert parsed(first / "config.pbtxt").max_batch_size == 64
    # replace=True: the whole model replaced, versions included
    other.export_triton(tmp_path, name="sales", version=3, replace=True)
    assert sorted(p.name for p in first.iterdir()) == ["3", "config.pbtxt"]
    assert list(parsed(first / "config.pbtxt").input[0].dims) == [12]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sales"]  # no staging left behind
    with pytest.raises(ValueError, match="backend must be one of"):
        forecaster.export_triton(tmp_path, name="x", backend="tensorrt")


def test_the_python_backend_model_is_valid_python_that_serves_the_graph(forecaster, tmp_path):
    folder = forecaster.export_triton(tmp_path, name="py", backend="python")
    config = parsed(folder / "config.pbtxt")
    assert config.backend == "python" and config.instance_group[0].kind == model_config_pb2.ModelInstanceGroup.KIND_CPU
    source = (folder / "1" / "model.py").read_text()
    compile(source, "model.py", "exec")
    assert "import torch" not in source and "gruforecast" not in source.split('"""')[2]


# ---------------------------------------------------------------- a real server

def _free_ports(count):
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for one in sockets:
        one.bind(("127.0.0.1", 0))
    ports = [one.getsockname()[1] for one in sockets]
    for one in sockets:
        one.close()
    return ports


@pytest.fixture
def tritonserver(tmp_path):
    """Start Triton 2.51 (CPU, Python backend only) from the nvidia-pytriton package on a
    repository; yields (start, client module). Needs ``pip install --no-deps
    nvidia-pytriton`` (its own dependencies pin NumPy below 2), so it is not in the dev
    extra: without it, the test is skipped."""
    import importlib.util
    import os
    import shutil
    import subprocess
    import sys
    import time
    from pathlib import Path

    spec = importlib.util.find_spec("pytriton")
    if spec is None or spec.origin is None:
        pytest.skip("needs the tritonserver of nvidia-pytriton: pip install --no-deps nvidia-pytriton")
    grpcclient = pytest.importorskip("tritonclient.grpc")
    dist = Path(spec.origin).parent / "tritonserver"
    backends = tmp_path / "backends"
    shutil.copytree(dist / "backends", backends)
    stub = dist / "python_backend_stubs" / f"{sys.version_info[0]}.{sys.version_info[1]}" / "triton_python_backend_stub"
    shutil.copy(stub, backends / "python")
    environment = dict(os.environ)
    libraries = Path(spec.origin).parents[1] / "nvidia_pytriton.libs"
    environment["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(libraries), environment.get("LD_LIBRARY_PATH")]))
    # the Python backend's stub finds its Python by the python3 on PATH (as pytriton does)
    environment["PATH"] = os.pathsep.join([str(Path(sys.prefix) / "bin"), environment["PATH"]])
    started = []

    def start(repository):
        http, grpc, metrics = _free_ports(3)
        log = open(tmp_path / "tritonserver.log", "w")
        server = subprocess.Popen(
            [str(dist / "bin" / "tritonserver"), f"--model-repository={repository}",
             f"--backend-directory={backends}", f"--http-port={http}", f"--grpc-port={grpc}",
             f"--metrics-port={metrics}", "--allow-metrics=false", "--exit-on-error=false"],
            stdout=log, stderr=subprocess.STDOUT, env=environment,
        )
        started.append((server, log))
        client = grpcclient.InferenceServerClient(f"127.0.0.1:{grpc}")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "tritonserver.log").read_text()[-3000:]
            try:
                if client.is_server_live():
                    return client
            except Exception:  # not listening yet
                pass
            time.sleep(0.5)
        pytest.fail("tritonserver did not start in 90 s:\n" + (tmp_path / "tritonserver.log").read_text()[-3000:])

    yield start, grpcclient
    for server, log in started:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.mark.slow
def test_a_real_triton_server_serves_the_python_backend_export_as_onnx_forecaster_does(forecaster, tmp_path, tritonserver):
    start, grpcclient = tritonserver
    repository = tmp_path / "models"
    forecaster.export_triton(repository, name="py", backend="python", max_batch_size=64)
    forecaster.export_triton(repository, name="ort", max_batch_size=64)  # onnxruntime backend
    client = start(repository)
    assert client.is_model_ready("py")
    served = OnnxForecaster(repository / "py" / "1" / "model.onnx", providers="cpu")
    rng = np.random.default_rng(0)
    for batch in (1, 5, 64):
        windows = rng.normal(300, 50, (batch, forecaster.window_))
        request = grpcclient.InferInput("windows", list(windows.shape), "FP64")
        request.set_data_from_numpy(windows)
        got = client.infer("py", [request]).as_numpy("forecast")
        assert got.shape == (batch, forecaster.horizon_)
        np.testing.assert_allclose(got, served.predict(windows), rtol=1e-6)
    # the onnxruntime-backend repository: the server reads its config, and stops only
    # at the backend, which this CPU build does not ship
    index = {model.name: model for model in client.get_model_repository_index().models}
    assert index["py"].state == "READY"
    assert index["ort"].state == "UNAVAILABLE"
    assert "unable to find backend library for backend 'onnxruntime'" in index["ort"].reason
