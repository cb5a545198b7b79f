using System.CommandLine;
using TimeBill.Cli.Output;
using TimeBill.Core.ChatTemplates;

namespace TimeBill.Cli.Commands;

/// <summary><c>timebill template</c>: a conversation rendered through the model's chat template, as text and ids.</summary>
internal static class TemplateCommand
{
    public static Command Create()
    {
        var model = ModelOptions.ModelOrDefault();
        var messages = new Option<string>("--messages")
        {
            Description = "JSON file: an array of messages as transformers takes them ({\"role\", \"content\", \"tool_calls\"...}).",
            Required = true,
        };
        var generationPrompt = new Option<bool>("--add-generation-prompt") { Description = "End with the cue that starts the assistant's reply." };
        var tools = new Option<string?>("--tools") { Description = "JSON file: an array of tool specs ({\"type\": \"function\", \"function\": {...}})." };
        var variables = new Option<string[]>("--var") { Description = "A template variable NAME=JSON (repeatable), e.g. enable_thinking=false." };
        var name = new Option<string?>("--template-name") { Description = "Which of several named templates (default: tool_use with --tools, else default)." };
        var json = ModelOptions.Json();
        var command = new Command("template", "Render messages with a model's chat template: the prompt text and its ids.")
        {
            model, messages, generationPrompt, tools, variables, name, json,
        };
        command.SetGuardedAction((parse, _) =>
        {
            string folder = parse.GetValue(model)!;
            var tokenizer = ModelOptions.LoadTokenizer(folder);
            var template = tokenizer.ChatTemplate
                ?? throw new ArgumentException($"{folder} has no chat template (tokenizer_config.json 'chat_template' or chat_template.jinja).");
            var options = new ChatTemplateOptions
            {
                AddGenerationPrompt = parse.GetValue(generationPrompt),
                Tools = parse.GetValue(tools) is string toolsPath ? TemplateVariables.ReadArray(toolsPath, "--tools") : null,
                Variables = TemplateVariables.Parse(parse.GetValue(variables) ?? [], "--var"),
                TemplateName = parse.GetValue(name),
            };
            var prompt = template.RenderAndEncode(tokenizer, TemplateVariables.ReadArray(parse.GetValue(messages)!, "--messages"), options);
            if (parse.GetValue(json))
                JsonOutput.Write(new { prompt.Text, prompt.Ids });
            else
                Console.Write(prompt.Text);
            return Task.FromResult(0);
        });
        return command;
    }
}
