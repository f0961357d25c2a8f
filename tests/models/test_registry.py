import pytest
import torch

from genrerec.models.registry import ModelDims, build_model, count_parameters


def test_seed_cnn_is_the_original_architecture():
    m = build_model(ModelDims("seed-cnn", 10, 96, 151))
    convs = [l for l in m.features if isinstance(l, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512]
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    pools = [l.kernel_size for l in m.features if isinstance(l, torch.nn.MaxPool2d)]
    assert pools == [2, 2, 4, 4]
    assert (m.fc1.out_features, m.fc2.out_features, m.fc3.out_features) == (1024, 256, 10)
    assert m.dropout.p == 0.5
    # fc1's input follows the input shape: 512 x (H/64) x (W/64); the original's 77,824 = 512 x 2 x 76
    assert m.fc1_in == 512 * (96 // 64) * (151 // 64) == 1024
    assert build_model(ModelDims("seed-cnn", 10, 128, 4864)).fc1_in == 77824


@pytest.mark.parametrize("kind", ["seed-cnn", "cnn", "resnet18"])
def test_logits_and_embedding(kind):
    m = build_model(ModelDims(kind, 7, 96, 151)).eval()
    x = torch.randn(3, 96, 151)
    assert m(x).shape == (3, 7)
    assert m.embed(x).shape == (3, m.embed_dim)


def test_compact_cnn_is_small():
    m = build_model(ModelDims("cnn", 10, 96, 151))
    assert count_parameters(m) * 4 < 5e6  # a few MB


def test_unknown_kind():
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model(ModelDims("vgg", 10, 96, 151))


def test_resnet_imagenet_weights_from_local_file(tmp_path):
    from torchvision.models import resnet18

    ref = resnet18(weights=None)
    torch.save(ref.state_dict(), tmp_path / "w.pth")
    m = build_model(ModelDims("resnet18", 10, 96, 151), imagenet_weights=tmp_path / "w.pth")
    torch.testing.assert_close(m.net.layer1[0].conv1.weight, ref.layer1[0].conv1.weight)
    torch.testing.assert_close(m.net.conv1.weight, ref.conv1.weight.sum(1, keepdim=True))
