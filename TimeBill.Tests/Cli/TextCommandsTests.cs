using System.Diagnostics;
using System.Text.Json;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Cli;

/// <summary><c>tokenize</c>, <c>template</c>, <c>generate --chat</c>, <c>chat</c> and <c>forward</c> on the Qwen3, Llama 3.1 and Mistral folders.</summary>
public sealed class TextCommandsTests
{
    private static JsonElement RunJson(params string[] arguments)
    {
        var (code, output, errors) = CliTests.Run(arguments);
        Assert.True(code == 0, errors);
        return JsonDocument.Parse(output).RootElement;
    }

    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void TokenizePrintsTheReferenceIdsAndTokens(string model)
    {
        var item = SharedAssets.Reference(model == "tiny-random-qwen3" ? "tokenizer-qwen3" : "tokenizer-llama31").GetProperty("cases")[0];
        string text = item.GetProperty("text").GetString()!;

        var plain = RunJson("tokenize", "--model", SharedAssets.Model(model), "--text", text, "--json");
        Assert.Equal(item.Ints("ids"), plain.Ints("ids"));
        Assert.Equal(item.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()), plain.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()));

        var special = RunJson("tokenize", "--model", SharedAssets.Model(model), "--text", text, "--special", "--json");
        Assert.Equal(item.Ints("ids_with_special"), special.Ints("ids"));
    }

    /// <summary>Every visible chat case through the command line: messages and tools as files, kwargs as flags and --var.</summary>
    [Theory]
    [InlineData("qwen3", "tools_move_arm")]
    [InlineData("qwen3", "multi_turn_thinking")]
    [InlineData("llama31", "tools_and_date_ignored")]
    public void TemplateRendersTheReferenceTextAndIds(string family, string id)
    {
        var item = SharedAssets.Reference($"chat-{family}").GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);
        string folder = Directory.CreateTempSubdirectory("timebill-template-").FullName;
        try
        {
            string messages = Path.Combine(folder, "messages.json");
            File.WriteAllText(messages, item.GetProperty("messages").GetRawText());
            var arguments = new List<string> { "template", "--model", SharedAssets.Model($"tiny-random-{family}"), "--messages", messages, "--json" };
            foreach (var kwarg in item.GetProperty("kwargs").EnumerateObject())
                switch (kwarg.Name)
                {
                    case "add_generation_prompt": if (kwarg.Value.GetBoolean()) arguments.Add("--add-generation-prompt"); break;
                    case "tools":
                        string tools = Path.Combine(folder, "tools.json");
                        File.WriteAllText(tools, kwarg.Value.GetRawText());
                        arguments.AddRange(["--tools", tools]);
                        break;
                    default: arguments.AddRange(["--var", $"{kwarg.Name}={kwarg.Value.GetRawText()}"]); break;
                }

            var json = RunJson([.. arguments]);
            Assert.Equal(item.GetProperty("rendered").GetString(), json.GetProperty("text").GetString());
            Assert.Equal(item.Ints("ids"), json.Ints("ids"));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    /// <summary>The reference's chat text case is this user message through the template (Qwen3 without thinking).</summary>
    [Theory]
    [InlineData("tiny-random-qwen3")]
    [InlineData("tiny-random-llama31")]
    public void GenerateChatGivesTheReferenceChatContinuation(string model)
    {
        var item = SharedAssets.Reference(model).GetProperty("text_cases").EnumerateArray().Last();
        var json = RunJson("generate", "--model", SharedAssets.Model(model), "--chat", "--prompt", "Write a haiku about the sea.",
            "--var", "enable_thinking=false", "--max-tokens", "16", "--json");
        Assert.Equal(item.GetProperty("prompt").GetString(), json.GetProperty("prompt").GetString());
        Assert.Equal(item.Ints("input_ids"), json.Ints("prompt_ids"));
        Assert.Equal(item.Ints("greedy_continuation_ids"), json.Ints("ids"));
        Assert.Equal(item.GetProperty("greedy_continuation_text_skip_special").GetString(), json.GetProperty("text").GetString());
    }

    [Fact]
    public async Task ChatTakesSettingsAndAnswersThroughTheTemplate()
    {
        var item = SharedAssets.Reference("tiny-random-qwen3").GetProperty("text_cases").EnumerateArray().Last();
        string cache = Directory.CreateTempSubdirectory("timebill-chat-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { Path.Combine(AppContext.BaseDirectory, "timebill.dll"), "chat", "--model", SharedAssets.Model("tiny-random-qwen3"), "--max-tokens", "16" },
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
            };
            start.Environment["TIMEBILL_CACHE"] = cache;
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write("/var enable_thinking=false\n/budget nonsense\nWrite a haiku about the sea.\n/exit\n");
            process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await process.WaitForExitAsync(timeout.Token);
            string stdout = await output, stderr = await errors;
            Assert.True(process.ExitCode == 0, stderr);
            Assert.Equal($"> > > {item.GetProperty("greedy_continuation_text_skip_special").GetString()}\n> ", stdout);
            Assert.Contains("error: ", stderr);          // the bad /budget, reported and ignored
            Assert.Contains("[Completed: ", stderr);     // the status line after the answer
        }
        finally { Directory.Delete(cache, recursive: true); }
    }

    [Fact]
    public void ForwardOnTheSlidingWindowModelGivesTheReferenceArgmax()
    {
        var item = SharedAssets.Reference("tiny-random-mistral-swa").GetProperty("cases").EnumerateArray()
            .First(c => c.TryGetProperty("logits_last_if_window_ignored", out _));
        var json = RunJson("forward", "--model", SharedAssets.Model("tiny-random-mistral-swa"), "--ids", string.Join(",", item.Ints("input_ids")), "--json");
        Assert.Equal(item.Ints("argmax_per_position"), json.Ints("argmax"));
    }

    [Theory]
    [InlineData("tokenize", "--model", "tiny-random-mistral-swa", "--text", "hi")]                   // no tokenizer in the folder
    [InlineData("template", "--model", "tiny-random-qwen3", "--messages", "/nonexistent.json")]      // missing messages file
    [InlineData("template", "--messages", "/dev/null")]                                               // stories260K: no template
    [InlineData("generate", "--chat", "--prompt", "hi", "--max-tokens", "2")]                          // stories260K: no template
    [InlineData("generate", "--model", "tiny-random-qwen3", "--prompt", "hi", "--var", "x=1")]        // --var without --chat
    [InlineData("generate", "--model", "tiny-random-qwen3", "--chat", "--prompt", "hi", "--var", "x")] // not NAME=JSON
    public void BadArgumentsExitNonZeroWithAMessage(params string[] arguments)
    {
        var (code, _, errors) = CliTests.Run([.. arguments.Select(a => a.StartsWith("tiny-random-", StringComparison.Ordinal) ? SharedAssets.Model(a) : a)]);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", errors);
    }
}
