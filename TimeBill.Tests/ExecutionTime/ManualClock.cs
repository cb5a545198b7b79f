namespace TimeBill.Tests.ExecutionTime;

/// <summary>A clock that moves only when told to, with nanosecond timestamps.</summary>
internal sealed class ManualClock : TimeProvider
{
    private long _nanoseconds;

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => _nanoseconds;

    public void Advance(double milliseconds) => _nanoseconds += (long)Math.Round(milliseconds * 1_000_000);
}
