using TimeBill.Core.Model;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Model;

/// <summary>Both config.json styles and generation_config.json parse into the right shape.</summary>
public sealed class ConfigTests
{
    [Fact]
    public void ClassicStyleWithTopLevelRopeTheta()
    {
        var config = ModelConfig.Load(Path.Combine(SharedAssets.Model("stories260K"), "config.json"));
        Assert.Equal((ModelArchitecture.Llama, 64, 5, 8, 4, 8, 512, 10000.0, true), (config.Architecture, config.HiddenSize, config.LayerCount, config.HeadCount, config.KvHeadCount, config.HeadDim, config.VocabSize, config.Rope.Theta, config.TieWordEmbeddings));
        Assert.Equal([1, 2], GenerationConfig.Load(Path.Combine(SharedAssets.Model("stories260K"), "generation_config.json")).StopTokenIds);
    }

    [Fact]
    public void TransformersFiveStyleWithLlama3RopeParameters()
    {
        var config = ModelConfig.Load(Path.Combine(SharedAssets.Model("tiny-random-llama3-bf16"), "config.json"));
        Assert.Equal(new RopeScaling(500000, "llama3", 8, 1, 4, 64), config.Rope);
        Assert.False(config.TieWordEmbeddings);
        Assert.Equal(16, config.HeadDim);
    }

    [Fact]
    public void Qwen2HasAttentionBiasAndDefaultRopeFromRopeParameters()
    {
        var config = ModelConfig.Load(Path.Combine(SharedAssets.Model("tiny-random-qwen2"), "config.json"));
        Assert.Equal(ModelArchitecture.Qwen2, config.Architecture);
        Assert.True(config.AttentionBias);
        Assert.Equal(new RopeScaling(1_000_000), config.Rope);
        Assert.Equal(16, config.HeadDim); // hidden / heads when head_dim is absent
    }

    [Theory]
    [InlineData("smollm2-135m", 30, 3, 64)]
    [InlineData("qwen2.5-0.5b", 24, 2, 64)]
    [InlineData("llama-3.2-1b", 16, 8, 64)]
    public void ReleasedModelShapesParse(string shape, int layers, int kvHeads, int headDim)
    {
        var config = ModelConfig.Load(SharedAssets.Shape(shape));
        Assert.Equal((layers, kvHeads, headDim), (config.LayerCount, config.KvHeadCount, config.HeadDim));
    }
}
