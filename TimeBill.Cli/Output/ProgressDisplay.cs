using Spectre.Console;

namespace TimeBill.Cli.Output;

/// <summary>A Spectre progress bar on stdout, or on stderr when stdout carries the --json object.</summary>
internal static class ProgressDisplay
{
    public static IAnsiConsole Console(bool json) =>
        json ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(System.Console.Error) }) : AnsiConsole.Console;

    /// <summary>Runs <paramref name="body"/> with a reporter (done, total, description) that moves one bar.</summary>
    public static T Run<T>(bool json, string description, Func<Action<double, double, string?>, T> body)
    {
        T result = default!;
        Console(json).Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(description, maxValue: 1);
                result = body((done, total, text) =>
                {
                    task.MaxValue = Math.Max(total, 1);
                    task.Value = Math.Min(done, task.MaxValue);
                    if (text is not null) task.Description = text;
                });
                task.Value = task.MaxValue;
            });
        return result;
    }
}
