namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// What <see cref="ExecutionTimeProfiler"/> measures: a loaded model on this machine, reduced to the two operations
/// whose time the latency model predicts. The profiler times each call with its clock, so an implementation must do
/// exactly the work of the operation inside the call; preparation (filling a cache to a length) goes into
/// <see cref="PrepareDecodeStep"/>, which is not timed. Calls come from one thread.
/// </summary>
internal interface IProfilingTarget
{
    /// <summary>What the timings depend on in the model: architecture and shape (for example a hash of the shape config).</summary>
    string ModelIdentity { get; }

    /// <summary>The compute data type, for example <c>float32</c>.</summary>
    string DataType { get; }

    /// <summary>The number of intra-op threads the model computes with.</summary>
    int ThreadCount { get; }

    /// <summary>The longest sequence the model accepts (prompt plus generated tokens).</summary>
    int MaxContext { get; }

    /// <summary>The model's number of transformer layers L.</summary>
    int LayerCount { get; }

    /// <summary>
    /// Queries per block when the target's prefill computes attention block by block, each block paying a fixed cost;
    /// 0 (default) when it does not. A positive value adds the term <c>d·⌈Nx / block⌉</c> to the prefill fit.
    /// </summary>
    int PrefillQueryBlock => 0;

    /// <summary>
    /// Tokens per forward call when the target prefills in chunks, each call paying the fixed cost; 0 (default) for one
    /// call. A positive value counts the prefill fit's constant once per chunk.
    /// </summary>
    int PrefillChunk => 0;

    /// <summary>Runs a prefill of <paramref name="promptLength"/> tokens into a fresh, empty KV cache.</summary>
    void Prefill(int promptLength);

    /// <summary>Whether the target prefills after a prefix restored from a prefix cache (<see cref="Prefill(int, int)"/>).</summary>
    bool SupportsCachedPrefill => false;

    /// <summary>
    /// Untimed: makes the first <paramref name="cachedLength"/> tokens of the profiling prompt restorable from the
    /// prefix cache (a multiple of <see cref="Core.Cache.PrefixCache.BlockTokens"/>).
    /// </summary>
    void PrepareCachedPrefill(int cachedLength) => throw new NotSupportedException("this target does not prefill after a cached prefix.");

    /// <summary>
    /// Timed: into a fresh KV cache, restores <paramref name="cachedLength"/> tokens from the prefix cache and
    /// prefills the next <paramref name="newLength"/>, as a job with a warm prefix does.
    /// </summary>
    void Prefill(int cachedLength, int newLength) => throw new NotSupportedException("this target does not prefill after a cached prefix.");

    /// <summary>
    /// Untimed: puts the target in the state for <see cref="DecodeStep"/>: a KV cache holding exactly
    /// <paramref name="kvLength"/> entries in every layer. Called before every timed decode step, since each step
    /// appends an entry; the profiler times several steps at one length in a row, so a target should make the repeat
    /// cheap (drop the entry the previous step appended instead of refilling).
    /// </summary>
    void PrepareDecodeStep(int kvLength);

    /// <summary>
    /// Timed: runs one decode step of one token over the prepared cache of <paramref name="kvLength"/> entries,
    /// through the first <paramref name="layers"/> layers and the output head (and whatever a step that skips the
    /// remaining layers must still do for them).
    /// </summary>
    void DecodeStep(int kvLength, int layers);
}
