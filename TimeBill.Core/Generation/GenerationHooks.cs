using TimeBill.Core.Cache;
using TimeBill.Core.Exit;
using TimeBill.Core.Model;

namespace TimeBill.Core.Generation;

/// <summary>
/// Where a caller plugs into the engine's loop (the deadline logic of budgeted generation, measurements of studies).
/// Every method runs on the engine's worker thread, in this order: <see cref="BeforePrefillChunk"/> per chunk,
/// <see cref="AfterPrefill"/>, then per token <see cref="OnToken"/>, and before and after each decode step
/// <see cref="BeforeStep"/> and <see cref="AfterStep"/>. The defaults change nothing.
/// </summary>
internal abstract class GenerationHooks
{
    /// <summary>Observes the prefill (an eviction capture, a probe); null for none.</summary>
    public virtual IForwardObserver? PrefillObserver => null;

    /// <summary>Before the prompt tokens <paramref name="done"/>..<paramref name="done"/>+<paramref name="count"/>−1 are run; false ends the job before them.</summary>
    public virtual bool BeforePrefillChunk(int done, int count) => true;

    /// <summary>
    /// After the prompt is in <paramref name="cache"/> (and the request's own eviction, if any, is done), with the last
    /// position's <paramref name="logits"/>. May evict from the cache. Returns the exit policy to decode with (null: the
    /// request's own).
    /// </summary>
    public virtual ExitPolicy? AfterPrefill(KvCache cache, ReadOnlySpan<float> logits) => null;

    /// <summary>A token was accepted into the response; false ends the job after it.</summary>
    public virtual bool OnToken(in GeneratedToken token) => true;

    /// <summary>Before the step that computes the logits after the <paramref name="generated"/>-th token, over <paramref name="cachedEntries"/> entries; false ends the job.</summary>
    public virtual bool BeforeStep(int generated, int cachedEntries) => true;

    /// <summary>After a decode step over <paramref name="cachedEntries"/> entries that ran <paramref name="layersRun"/> layers in <paramref name="elapsed"/>.</summary>
    public virtual void AfterStep(int cachedEntries, int layersRun, TimeSpan elapsed) { }

    /// <summary>Hooks that change nothing.</summary>
    internal static GenerationHooks None { get; } = new NoHooks();

    private sealed class NoHooks : GenerationHooks;
}
