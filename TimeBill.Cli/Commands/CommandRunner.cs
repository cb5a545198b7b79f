using System.CommandLine;
using TimeBill.Core.Checkpoints;

namespace TimeBill.Cli.Commands;

/// <summary>Runs a command body, turning expected failures (bad input, bad files) into a message and exit code 2.</summary>
internal static class CommandRunner
{
    public static void SetGuardedAction(this Command command, Func<ParseResult, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            try { return await body(parseResult, cancellationToken); }
            catch (Exception e) when (e is ArgumentException or ModelLoadException or TimeBill.Predictors.ResponseLength.ModelIdentityMismatchException or TimeBill.Predictors.ExecutionTime.ProfileMismatchException or FileNotFoundException or DirectoryNotFoundException or InvalidDataException or TimeBill.Templates.TemplateException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("cancelled.");
                return 130;
            }
        });
}
