using System.Collections.Concurrent;
using TimeBill.Core.Tokenization;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Tokenization;

/// <summary>The shared models' tokenizers, each loaded once for all tests (a tokenizer.json takes a moment to read).</summary>
public static class SharedTokenizers
{
    private static readonly ConcurrentDictionary<string, Lazy<TextTokenizer>> Loaded = new();

    /// <summary>The tokenizer of ../shared/models/NAME.</summary>
    public static TextTokenizer Get(string model) =>
        Loaded.GetOrAdd(model, name => new Lazy<TextTokenizer>(() => TextTokenizer.Load(SharedAssets.Model(name)))).Value;
}
