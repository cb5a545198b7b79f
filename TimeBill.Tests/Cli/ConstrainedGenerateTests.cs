using SchemaCheck = TimeBill.Cli.Evaluation.SchemaCheck;
using System.Text.Json;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Cli;

/// <summary><c>timebill generate --json-schema / --choices</c>: only the constrained answer, and whether it was closed early.</summary>
public sealed class ConstrainedGenerateTests
{
    private const string Schema = """{"type":"object","properties":{"hero":{"type":"string"},"age":{"type":"integer","minimum":1,"maximum":99}},"required":["hero","age"]}""";

    private static string SchemaFile(string text)
    {
        string path = Path.Combine(Path.GetTempPath(), $"timebill-schema-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void AJsonSchemaGivesOnlyAValidAnswerAndWhetherItWasClosedEarly()
    {
        string path = SchemaFile(Schema);
        try
        {
            var (code, output, errors) = CliTests.Run("generate", "--model", SharedAssets.Model("stories260K"), "--prompt", "Once upon a time",
                "--max-tokens", "24", "--temperature", "1", "--seed", "7", "--json-schema", path, "--json");
            Assert.True(code == 0, errors);
            var json = JsonDocument.Parse(output).RootElement;
            Assert.Equal(["text", "closed_early"], json.EnumerateObject().Select(p => p.Name));
            using var answer = JsonDocument.Parse(json.GetProperty("text").GetString()!);
            using var schema = JsonDocument.Parse(Schema);
            Assert.Null(SchemaCheck.Problem(answer.RootElement, schema.RootElement));
            json.GetProperty("closed_early").GetBoolean();
        }
        finally { File.Delete(path); }
    }

    private const string StorySchema = """{"type":"object","properties":{"hero":{"type":"string"},"story":{"type":"string"},"age":{"type":"integer","minimum":1,"maximum":99}},"required":["hero","story","age"]}""";

    /// <summary>
    /// Under Kill, at a budget below a long story's time and at a generous one, the output is only the constrained text
    /// and it validates. Whether the deadline closed it early depends on the machine's speed; that the deadline closes
    /// answers is checked on a test clock in ConstrainedGenerationTests.
    /// </summary>
    [Theory]
    [InlineData("600")]
    [InlineData("60000")]
    public void ABudgetedKilledAnswerIsOnlyTheConstrainedTextAndValidates(string budgetMs)
    {
        string path = SchemaFile(StorySchema);
        try
        {
            var (code, output, errors) = CliTests.Run("generate", "--model", SharedAssets.Model("stories260K"), "--prompt", "Once upon a time",
                "--max-tokens", "2000", "--temperature", "1", "--seed", "7", "--json-schema", path, "--budget", budgetMs, "--overrun", "kill", "--json");
            Assert.True(code == 0, errors);
            var json = JsonDocument.Parse(output).RootElement;
            Assert.Equal(["text", "closed_early"], json.EnumerateObject().Select(p => p.Name));
            Assert.Contains(json.GetProperty("closed_early").ValueKind, new[] { JsonValueKind.True, JsonValueKind.False });
            string text = json.GetProperty("text").GetString()!;
            using var answer = JsonDocument.Parse(text);
            using var schema = JsonDocument.Parse(StorySchema);
            Assert.True(SchemaCheck.Problem(answer.RootElement, schema.RootElement) is null, $"{text}: {SchemaCheck.Problem(answer.RootElement, schema.RootElement)}");
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void ChoicesGiveOneOfThem()
    {
        var (code, output, errors) = CliTests.Run("generate", "--model", SharedAssets.Model("stories260K"), "--prompt", "Once upon a time",
            "--choices", "yes,no,maybe later", "--json");
        Assert.True(code == 0, errors);
        Assert.Contains(JsonDocument.Parse(output).RootElement.GetProperty("text").GetString(), new[] { "yes", "no", "maybe later" });
    }

    [Fact]
    public void AnUnsupportedSchemaOrBothConstraintsAreRefusedByName()
    {
        string path = SchemaFile("""{"type":"string","pattern":"x"}""");
        try
        {
            var (code, _, errors) = CliTests.Run("generate", "--model", SharedAssets.Model("stories260K"), "--prompt", "hi", "--json-schema", path);
            Assert.NotEqual(0, code);
            Assert.Contains("'pattern'", errors);
            (code, _, errors) = CliTests.Run("generate", "--model", SharedAssets.Model("stories260K"), "--prompt", "hi", "--json-schema", path, "--choices", "a,b");
            Assert.NotEqual(0, code);
            Assert.Contains("not both", errors);
        }
        finally { File.Delete(path); }
    }
}
