namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// What <see cref="ExecutionTimeProfiler"/> measures: a loaded model on this machine, reduced to the two operations
/// whose time the latency model predicts. The profiler times each call with its clock, so an implementation must do
/// exactly the work of the operation inside the call and any preparation (allocating and filling a cache) outside it
/// or once, ahead of time. Calls come from one thread.
/// </summary>
public interface IProfilingTarget
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

    /// <summary>Runs a prefill of <paramref name="promptLength"/> tokens into a fresh, empty KV cache.</summary>
    void Prefill(int promptLength);

    /// <summary>
    /// Runs one decode step of one token over a KV cache holding exactly <paramref name="kvLength"/> entries, through the
    /// first <paramref name="layers"/> layers and the output head. Successive calls must each find
    /// <paramref name="kvLength"/> entries, whatever the previous call appended.
    /// </summary>
    void DecodeStep(int kvLength, int layers);
}
