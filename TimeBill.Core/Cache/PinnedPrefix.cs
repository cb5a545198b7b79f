namespace TimeBill.Core.Cache;

/// <summary>
/// A prompt prefix held in the engine's prefix cache until disposed (a control loop's system prompt): prompts that
/// start with <see cref="Ids"/> prefill only what follows its whole blocks, however many other prompts pass through
/// the cache meanwhile. Build such prompts with <see cref="Then"/>.
/// </summary>
public sealed class PinnedPrefix : IDisposable
{
    private readonly IDisposable _pin;

    internal PinnedPrefix(int[] ids, int cachedTokens, IDisposable pin)
    {
        Ids = ids;
        CachedTokens = cachedTokens;
        _pin = pin;
    }

    /// <summary>The prefix's token ids.</summary>
    public IReadOnlyList<int> Ids { get; }

    /// <summary>How many of them the cache holds: the whole blocks of <see cref="PrefixCache.BlockTokens"/> tokens.</summary>
    public int CachedTokens { get; }

    /// <summary>The prefix followed by <paramref name="ids"/>: a prompt that reuses it.</summary>
    public int[] Then(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return [.. Ids, .. ids];
    }

    /// <summary>Releases the prefix: its blocks become ordinary cache entries, evicted when least recently used.</summary>
    public void Dispose() => _pin.Dispose();
}
