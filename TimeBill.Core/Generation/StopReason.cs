namespace TimeBill.Core.Generation;

/// <summary>Why a generation ended.</summary>
public enum StopReason
{
    /// <summary>The model produced a stop token (not included in the output).</summary>
    StopToken,
    /// <summary>The maximum number of new tokens was reached.</summary>
    MaxTokens,
    /// <summary>The model's context (or the cache) is full.</summary>
    ContextFull,
    /// <summary>The text reached one of the stop sequences (which is not part of the returned text).</summary>
    StopSequence,
    /// <summary>A hook ended the job (the deadline of a budgeted job).</summary>
    Interrupted,
}
