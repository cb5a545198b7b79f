namespace TimeBill.Tests.Budget;

/// <summary>A deterministic clock: every reading advances time by a fixed step (1 tick = 1 µs).</summary>
public sealed class SteppingTimeProvider(TimeSpan step) : TimeProvider
{
    private long _now;

    /// <inheritdoc />
    public override long TimestampFrequency => 1_000_000;

    /// <inheritdoc />
    public override long GetTimestamp() => Interlocked.Add(ref _now, (long)step.TotalMicroseconds);
}
