using System.Globalization;

namespace TimeBill.Core.Budget;

/// <summary>Time budgets and overrun strategies as people write them (<c>300ms</c>, <c>1.5s</c>, <c>kill</c>, <c>skip-next</c>), and the range a budget may take.</summary>
internal static class BudgetText
{
    /// <summary>The largest budget accepted: one day.</summary>
    public static TimeSpan MaxBudget { get; } = TimeSpan.FromDays(1);

    /// <summary>Whether <paramref name="budget"/> is positive and at most <see cref="MaxBudget"/>.</summary>
    public static bool IsValid(TimeSpan budget) => budget > TimeSpan.Zero && budget <= MaxBudget;

    /// <summary><c>300ms</c>, <c>1.5s</c>, or a plain number of milliseconds.</summary>
    /// <exception cref="ArgumentException">Anything else, or a budget outside (0, <see cref="MaxBudget"/>].</exception>
    public static TimeSpan ParseBudget(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim();
        double scale = 1;
        if (t.EndsWith("ms", StringComparison.OrdinalIgnoreCase)) t = t[..^2];
        else if (t.EndsWith('s') || t.EndsWith('S')) (t, scale) = (t[..^1], 1000);
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value)
            || value <= 0 || value * scale > MaxBudget.TotalMilliseconds)
            throw new ArgumentException($"a time budget must be a positive time up to a day, such as 300ms or 1.5s; got '{text}'.", nameof(text));
        return TimeSpan.FromMilliseconds(value * scale);
    }

    /// <summary><c>kill</c> or <c>skip-next</c> (case and the dash do not matter: <c>SkipNext</c> works too).</summary>
    /// <exception cref="ArgumentException">Anything else.</exception>
    public static OverrunStrategy ParseOverrun(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().Replace("-", "").ToLowerInvariant() switch
        {
            "kill" => OverrunStrategy.Kill,
            "skipnext" => OverrunStrategy.SkipNext,
            _ => throw new ArgumentException($"an overrun strategy is kill or skip-next; got '{text}'.", nameof(text)),
        };
    }

    /// <summary>The strategy as <see cref="ParseOverrun"/> reads it.</summary>
    public static string Format(OverrunStrategy strategy) => strategy == OverrunStrategy.SkipNext ? "skip-next" : "kill";
}
