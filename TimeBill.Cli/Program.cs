using System.CommandLine;
using Spectre.Console;
using TimeBill.Cli.Commands;

// Logs and pipes have no terminal width: Spectre would assume 80 columns and wrap every table cell.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;

var root = new RootCommand("TimeBill.NET: the best response an LLM can produce within a time budget.");
foreach (var command in CommandCatalog.Create())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
