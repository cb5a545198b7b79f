using TimeBill.Core.Eviction;
using TimeBill.Core.Exit;
using TimeBill.Core.Planning;

namespace TimeBill.Cli.Evaluation;

/// <summary>One method of the TimeBill evaluation: how it sets α (fixed or planned) and whether it may skip layers.</summary>
/// <param name="Name">Row label in the tables.</param>
/// <param name="Planner">The planner options the method runs with.</param>
internal sealed record BudgetEvaluationMethod(string Name, PlannerOptions Planner)
{
    public static BudgetEvaluationMethod Fixed(double alpha) => new(alpha == 0 ? "vanilla" : $"fixed α={alpha:0.##}",
        new PlannerOptions { FixedEvictionRatio = alpha, Eviction = alpha == 0 ? new NoEvictionPolicy() : new SnapKvPolicy() });

    public static BudgetEvaluationMethod TimeBill(double k, string name = "timebill") => new(name, new PlannerOptions { Pessimism = k });

    public static BudgetEvaluationMethod TimeBillWithExit(double k, ExitPolicy exit) => new("timebill+exit",
        new PlannerOptions { Pessimism = k, Exit = exit });
}
