using TimeBill.Core.Decoding;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;

namespace TimeBill.Tests.Support;

/// <summary>Loads the shared models once per test collection.</summary>
public sealed class ModelFixture : IDisposable
{
    private readonly Dictionary<string, CausalLanguageModel> _models = [];
    private readonly Dictionary<string, KernelDecoder> _kernels = [];
    private readonly Lock _gate = new();

    /// <summary>The model in ../shared/models/NAME, loaded on first use.</summary>
    public CausalLanguageModel Get(string name)
    {
        lock (_gate)
        {
            if (!_models.TryGetValue(name, out var model))
                _models[name] = model = CausalLanguageModel.Load(SharedAssets.Model(name));
            return model;
        }
    }

    /// <summary>The float32 decode kernels of <see cref="Get"/>'s model, built on first use.</summary>
    internal KernelDecoder Kernels(string name)
    {
        var model = Get(name);
        lock (_gate)
        {
            if (!_kernels.TryGetValue(name, out var kernels)) _kernels[name] = kernels = new KernelDecoder(model);
            return kernels;
        }
    }

    /// <summary>The stories260K tokenizer.</summary>
    public TextTokenizer StoriesTokenizer { get; } = TextTokenizer.Load(SharedAssets.Model("stories260K"));

    /// <summary>Frees the models.</summary>
    public void Dispose()
    {
        foreach (var kernels in _kernels.Values) kernels.Dispose();
        foreach (var model in _models.Values) model.Dispose();
    }
}

/// <summary>Tests that share loaded models.</summary>
[CollectionDefinition(Name)]
public sealed class ModelCollection : ICollectionFixture<ModelFixture>
{
    /// <summary>The collection name.</summary>
    public const string Name = "models";
}
