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

    [Fact]
    public void Qwen3HasQkNormAndAnExplicitHeadDim()
    {
        var config = ModelConfig.Load(Path.Combine(SharedAssets.Model("tiny-random-qwen3"), "config.json"));
        Assert.Equal((ModelArchitecture.Qwen3, true, false, 32, 151936), (config.Architecture, config.QkNorm, config.AttentionBias, config.HeadDim, config.VocabSize));
        Assert.Null(config.SlidingWindow);
        Assert.Null(config.WindowOf(0));
    }

    [Fact]
    public void MistralSlidesEveryLayer()
    {
        var config = ModelConfig.Load(Path.Combine(SharedAssets.Model("tiny-random-mistral-swa"), "config.json"));
        Assert.Equal((ModelArchitecture.Mistral, 24), (config.Architecture, config.SlidingWindow));
        Assert.All(Enumerable.Range(0, config.LayerCount), layer => Assert.Equal(24, config.WindowOf(layer)));
    }

    [Theory]
    [InlineData("""{"model_type":"qwen2","use_sliding_window":true,"sliding_window":16,"max_window_layers":1}""", "0111")]
    [InlineData("""{"model_type":"qwen2","use_sliding_window":false,"sliding_window":16,"max_window_layers":1}""", "")]
    [InlineData("""{"model_type":"mistral","sliding_window":null}""", "")]
    [InlineData("""{"model_type":"llama","sliding_window":8,"layer_types":["sliding_attention","full_attention","sliding_attention","full_attention"]}""", "1010")]
    public void SlidingWindowLayersFollowTransformers(string fields, string expected)
    {
        var config = ModelConfig.Parse(Config(fields), "config.json");
        Assert.Equal(expected, string.Concat(config.SlidingWindowLayers.Select(w => w ? '1' : '0')));
    }

    [Theory]
    [InlineData("""{"model_type":"mistral","sliding_window":0}""", "sliding_window (0) must be positive")]
    [InlineData("""{"model_type":"mistral","sliding_window":-4}""", "sliding_window (-4) must be positive")]
    [InlineData("""{"model_type":"llama","layer_types":["sliding_attention","full_attention","full_attention","full_attention"]}""", "sliding_window is not set")]
    [InlineData("""{"model_type":"llama","sliding_window":8,"layer_types":["full_attention"]}""", "layer_types lists 1 layers but num_hidden_layers is 4")]
    [InlineData("""{"model_type":"llama","sliding_window":8,"layer_types":["chunked_attention","full_attention","full_attention","full_attention"]}""", "'chunked_attention'")]
    [InlineData("""{"model_type":"llama","hidden_size":60,"num_attention_heads":8}""", "not a multiple of num_attention_heads")]
    [InlineData("""{"model_type":"qwen3","head_dim":7}""", "head_dim (7) must be positive and even")]
    public void ContradictoryFieldsAreNamed(string fields, string problem)
    {
        var error = Assert.Throws<TimeBill.Core.Checkpoints.ModelLoadException>(() => ModelConfig.Parse(Config(fields), "config.json"));
        Assert.Contains(problem, error.Message);
        Assert.Contains("config.json", error.Message);
    }

    /// <summary>A small valid 4-layer config with <paramref name="fields"/> laid over it.</summary>
    private static System.Text.Json.JsonElement Config(string fields)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse("""{"hidden_size":64,"intermediate_size":128,"num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":100}""")!.AsObject();
        foreach (var (key, value) in System.Text.Json.Nodes.JsonNode.Parse(fields)!.AsObject().ToList()) root[key] = value?.DeepClone();
        return System.Text.Json.JsonDocument.Parse(root.ToJsonString()).RootElement;
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
