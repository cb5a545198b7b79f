using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace TimeBill.Core.Budget;

/// <summary>
/// Metrics and traces of budgeted generation through System.Diagnostics, so an app's OpenTelemetry pipeline sees
/// them: add the meter and the activity source named <see cref="Name"/>.
/// Counters: <c>timebill.jobs</c> (tag <c>status</c>), <c>timebill.deadline_misses</c>; histograms:
/// <c>timebill.eviction_ratio</c>, <c>timebill.overshoot</c> (ms), <c>timebill.planner_time</c> (µs).
/// Spans: <c>timebill.generate</c> with children <c>timebill.prefill</c>, <c>timebill.plan</c>, <c>timebill.decode</c>.
/// </summary>
public static class BudgetTelemetry
{
    /// <summary>The meter and activity source name.</summary>
    public const string Name = "TimeBill";

    internal static readonly ActivitySource Activities = new(Name);
    private static readonly Meter Meter = new(Name);
    internal static readonly Counter<long> Jobs = Meter.CreateCounter<long>("timebill.jobs", description: "Budgeted jobs by final status.");
    internal static readonly Counter<long> Misses = Meter.CreateCounter<long>("timebill.deadline_misses", description: "Jobs that ended past their deadline or were dropped.");
    internal static readonly Histogram<double> EvictionRatio = Meter.CreateHistogram<double>("timebill.eviction_ratio", description: "Eviction ratio α chosen by the planner.");
    internal static readonly Histogram<double> Overshoot = Meter.CreateHistogram<double>("timebill.overshoot", unit: "ms", description: "End time minus deadline.");
    internal static readonly Histogram<double> PlannerTime = Meter.CreateHistogram<double>("timebill.planner_time", unit: "us", description: "Time the planner took.");

    internal static void Record(BudgetedResult result)
    {
        var status = new KeyValuePair<string, object?>("status", result.Status.ToString());
        Jobs.Add(1, status);
        if (result.Status != BudgetStatus.Completed) Misses.Add(1, status);
        if (result.Plan is { } plan) EvictionRatio.Record(plan.EvictionRatio);
        if (result.Status != BudgetStatus.Skipped) Overshoot.Record(result.Overshoot.TotalMilliseconds);
        PlannerTime.Record(result.PlannerTime.TotalMicroseconds);
    }
}
