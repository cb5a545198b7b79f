namespace TimeBill.Tests.Templates;

/// <summary>A clock stopped at one local time (the local time zone is UTC), for <c>strftime_now</c>.</summary>
internal sealed class FixedClock(DateTime localNow) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => new(DateTime.SpecifyKind(localNow, DateTimeKind.Utc));

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}
