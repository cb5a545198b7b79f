namespace TimeBill.Predictors.ExecutionTime;

/// <summary>The part of a profiling run in progress.</summary>
public enum ProfilingPhase
{
    /// <summary>Untimed runs that warm caches, thread pools and the JIT.</summary>
    WarmUp,
    /// <summary>Timing prefills over the prompt-length grid.</summary>
    Prefill,
    /// <summary>Timing batches of decode steps over the KV-length × depth grid.</summary>
    DecodeStep,
    /// <summary>Fitting the curves to the measurements.</summary>
    Fitting,
}
