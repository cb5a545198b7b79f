using System.CommandLine;
using TimeBill.Cli.Commands;

var root = new RootCommand("TimeBill.NET: the best response an LLM can produce within a time budget.");
foreach (var command in CommandCatalog.Create())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
