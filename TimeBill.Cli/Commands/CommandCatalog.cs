using System.CommandLine;

namespace TimeBill.Cli.Commands;

/// <summary>Every subcommand of <c>timebill</c>; one file per command in this folder.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> Create() =>
    [
        GenerateCommand.Create(),
        ChatCommand.Create(),
        TokenizeCommand.Create(),
        TemplateCommand.Create(),
        ForwardCommand.Create(),
        ConvertCommand.Create(),
        BenchCommand.Create(),
        EvalCommand.Create(),
        EvalTimingCommand.Create(),
        EvalLoopCommand.Create(),
        EvalStructuredCommand.Create(),
        ProfileCommand.Create(),
        EvalEvictionCommand.Create(),
        TrainExitCommand.Create(),
        EvalExitCommand.Create(),
        DistillCommand.Create(),
        TrainRlpCommand.Create(),
        EvalRlpCommand.Create(),
        TuneCommand.Create(),
        SoakCommand.Create(),
        BurnCommand.Create(),
    ];
}
