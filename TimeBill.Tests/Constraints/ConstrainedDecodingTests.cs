using SchemaCheck = TimeBill.Cli.Evaluation.SchemaCheck;
using System.Text;
using System.Text.Json;
using TimeBill.Core.Constraints;
using TimeBill.Core.Sampling;
using TimeBill.Core.Tokenization;
using TimeBill.Tests.Tokenization;

namespace TimeBill.Tests.Constraints;

/// <summary>
/// Constraints at the token level, without a model: random logits through the processor and a seeded sampler, on
/// the real vocabularies of stories260K (SentencePiece) and Qwen3 (byte-level BPE), and a small made-up one.
/// </summary>
public sealed class ConstrainedDecodingTests
{
    private static TextTokenizer Stories => SharedTokenizers.Get("stories260K");

    /// <summary>Decodes with normal random logits until an end token or the cap; returns the ids (end excluded).</summary>
    private static List<int> Decode(ConstrainedDecoding processor, int vocabulary, int endToken, int seed, Func<int, int?>? tokensLeft = null)
    {
        var random = new Random(seed);
        var sampler = new TokenSampler(new SamplingOptions { Temperature = 1, Seed = seed });
        var logits = new float[vocabulary];
        var generated = new List<int>();
        processor.Reset([1]);
        while (true)
        {
            for (int i = 0; i < logits.Length; i++) logits[i] = (float)(random.NextDouble() * 6 - 3);
            if (tokensLeft?.Invoke(generated.Count) is int left) processor.TokensLeft = left;
            processor.Process(logits, generated.ToArray());
            int next = sampler.Sample(logits);
            if (next == endToken) return generated;
            generated.Add(next);
            processor.Advance(next); // as the deadline check sees it: the state after the token, before the next step
            Assert.True(generated.Count <= (processor.MaxTokens ?? int.MaxValue), "past the cap");
        }
    }

    /// <summary>Greedy longest-match tokens spelling <paramref name="text"/> (tokenizers may add a dummy space first).</summary>
    private static int[] Spell(TokenVocabulary vocabulary, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var ids = new List<int>();
        for (int at = 0; at < bytes.Length;)
        {
            int best = Enumerable.Range(0, vocabulary.Count).Where(id => vocabulary.Bytes(id).Length > 0 && bytes.AsSpan(at).StartsWith(vocabulary.Bytes(id)))
                .MaxBy(id => vocabulary.Bytes(id).Length);
            ids.Add(best);
            at += vocabulary.Bytes(best).Length;
        }
        return [.. ids];
    }

    private static string Text(TokenVocabulary vocabulary, IEnumerable<int> ids) =>
        Encoding.UTF8.GetString(ids.SelectMany(id => vocabulary.Bytes(id).ToArray()).ToArray());

    private static void AssertValid(string text, JsonElement schema)
    {
        using var document = JsonDocument.Parse(text);
        Assert.True(SchemaCheck.Problem(document.RootElement, schema) is null, $"{text}: {SchemaCheck.Problem(document.RootElement, schema)} for {schema}");
    }

    [Fact]
    public void RandomSchemasAndRandomLogitsAlwaysGiveValuesThatParseAndValidate()
    {
        var vocabulary = TokenVocabulary.For(Stories);
        int eos = Stories.EosTokenId!.Value;
        for (int seed = 0; seed < 60; seed++)
        {
            var schemaNode = RandomSchemas.Create(new Random(seed));
            using var schema = JsonDocument.Parse(schemaNode.ToJsonString());
            var automaton = OutputConstraint.JsonSchema(schema.RootElement).For(vocabulary);
            for (int run = 0; run < 3; run++)
            {
                var processor = new ConstrainedDecoding(automaton, [eos], maxTokens: 40);
                var ids = Decode(processor, 512, eos, seed * 10 + run);
                string text = Text(vocabulary, ids);
                AssertValid(text, schema.RootElement);
                Assert.Equal(text, Stories.Decode(ids));
            }
        }
    }

    [Fact]
    public void ClosingForcedAtAnyStepCompletesAValidAnswerInExactlyTheMinimumTokens()
    {
        var vocabulary = TokenVocabulary.For(Stories);
        int eos = Stories.EosTokenId!.Value;
        for (int seed = 100; seed < 108; seed++)
        {
            using var schema = JsonDocument.Parse(RandomSchemas.Create(new Random(seed), depth: 3).ToJsonString());
            var automaton = OutputConstraint.JsonSchema(schema.RootElement).For(vocabulary);
            var free = Decode(new ConstrainedDecoding(automaton, [eos], maxTokens: 30), 512, eos, seed);
            for (int step = 0; step <= free.Count; step++)
            {
                // From `step` on, the deadline leaves exactly the tokens the answer still needs.
                var processor = new ConstrainedDecoding(automaton, [eos]);
                int? needed = null;
                var ids = Decode(processor, 512, eos, seed, count =>
                {
                    if (count < step) return null;
                    needed ??= processor.MinTokensToAccept + count; // the state after `step` tokens, before the first closing token
                    return needed - count;
                });
                AssertValid(Text(vocabulary, ids), schema.RootElement);
                Assert.Equal(needed, ids.Count);
            }
        }
    }

    [Fact]
    public void MinimumTokensToAcceptIsTheShortestCompletionOverTheTokens()
    {
        // A made-up vocabulary: what each prefix still needs, found by enumerating token sequences.
        string[] pieces = ["{", "}", "\"", "a", "b", ":", ",", "1", "2", "12", "true", "t", "rue", "fals", "e", "{\"a\":", "\"b\":", ",\"b\":", "\"}"];
        var vocabulary = new TokenVocabulary([.. pieces.Select(p => Encoding.UTF8.GetBytes(p)), null]);
        var automaton = OutputConstraint.JsonSchema("""
            {"type":"object","properties":{"a":{"type":"integer","minimum":1,"maximum":12},"b":{"type":"boolean"}},"required":["a"]}
            """).For(vocabulary);
        const int depth = 7;
        var best = new Dictionary<string, int>(); // prefix (token ids) → fewest further tokens to acceptance found within depth
        var prefixes = new List<(List<int> Ids, int State)>();
        void Search(List<int> ids, int state)
        {
            prefixes.Add((ids, state));
            if (ids.Count == depth) return;
            for (int t = 0; t < pieces.Length; t++)
                if (automaton.Automaton.Next(state, Encoding.UTF8.GetBytes(pieces[t])) is int next and >= 0)
                    Search([.. ids, t], next);
        }
        Search([], automaton.Automaton.Start);
        foreach (var (ids, state) in prefixes)
        {
            int found = prefixes.Where(p => p.Ids.Count >= ids.Count && p.Ids.Take(ids.Count).SequenceEqual(ids) && automaton.Automaton.IsAccepting(p.State))
                .Select(p => p.Ids.Count - ids.Count).DefaultIfEmpty(int.MaxValue).Min();
            int computed = automaton.MinTokensToAccept(state);
            if (found != int.MaxValue) Assert.Equal(found, computed);
            else Assert.True(computed > depth - ids.Count, $"{string.Join(" ", ids.Select(i => pieces[i]))}: {computed}");
        }
        Assert.Equal(3, automaton.MinTokensToAccept(automaton.Automaton.Start)); // {"a": 1 }
        Assert.Equal(0, automaton.AllowedCount(automaton.Automaton.Start) - automaton.AllowedTokens(automaton.Automaton.Start).Length);
    }

    [Theory]
    [InlineData("stories260K")]
    [InlineData("tiny-random-qwen3")]
    public void MasksAllowExactlyTheTokensTheAutomatonReadsAndEndTokensOnlyWhenComplete(string model)
    {
        var tokenizer = SharedTokenizers.Get(model);
        var vocabulary = TokenVocabulary.For(tokenizer);
        Assert.Same(vocabulary, TokenVocabulary.For(tokenizer));
        int eos = tokenizer.EosTokenId!.Value;
        var constraint = OutputConstraint.JsonSchema("""
            {"type":"object","properties":{"name":{"type":"string"},"n":{"type":"integer","minimum":0,"maximum":50}},"required":["name","n"]}
            """);
        var automaton = constraint.For(vocabulary);
        Assert.Same(automaton, constraint.For(tokenizer));
        var special = tokenizer.SpecialTokens.Values.ToHashSet();
        int logitsLength = vocabulary.Count + 7; // model rows past the tokenizer's ids are never allowed
        foreach (string prefix in new[] { "", "{\"name\":\"", "{\"name\":\"ab", "{\"name\":\"x\",\"n\":", "{\"name\":\"x\",\"n\":4", "{\"name\":\"x\",\"n\":4}" })
        {
            int state = automaton.Automaton.Next(automaton.Automaton.Start, Encoding.UTF8.GetBytes(prefix));
            Assert.True(state >= 0, prefix);
            var expected = Enumerable.Range(0, vocabulary.Count)
                .Where(id => !special.Contains(id) && vocabulary.Bytes(id).Length > 0 && automaton.Automaton.Next(state, vocabulary.Bytes(id)) >= 0)
                .ToHashSet();
            Assert.Equal(expected.Order(), automaton.AllowedTokens(state).ToArray().Order());

            // Through the processor, from a response that spells the prefix.
            var processor = new ConstrainedDecoding(automaton, [eos]);
            processor.Reset([]);
            var ids = Spell(vocabulary, prefix);
            foreach (int id in ids) processor.Advance(id);
            Assert.Equal(state, processor.State);
            var logits = new float[logitsLength];
            processor.Process(logits, ids);
            bool complete = prefix.EndsWith('}');
            for (int id = 0; id < logits.Length; id++)
            {
                bool allowed = expected.Contains(id) || id == eos && complete;
                Assert.True(allowed == !float.IsNegativeInfinity(logits[id]), $"{prefix}: token {id} ({tokenizer.IdToToken(id)})");
            }
        }
    }

    [Fact]
    public void ByteLevelTokensThatCutACharacterAreAllowedOnlyInsideStrings()
    {
        var tokenizer = SharedTokenizers.Get("tiny-random-qwen3");
        var vocabulary = TokenVocabulary.For(tokenizer);
        int cut = Enumerable.Range(0, vocabulary.Count).First(id => vocabulary.Bytes(id).SequenceEqual(new byte[] { 0xE4 }));
        var automaton = OutputConstraint.JsonSchema("""{"type":"array","items":{"type":"string"}}""").For(vocabulary);
        int inString = automaton.Automaton.Next(0, "[\"a"u8);
        Assert.Contains(cut, automaton.AllowedTokens(inString).ToArray());
        Assert.DoesNotContain(cut, automaton.AllowedTokens(automaton.Automaton.Next(0, "["u8)).ToArray());
        int afterCut = automaton.Next(inString, cut);
        Assert.DoesNotContain(automaton.AllowedTokens(afterCut).ToArray(), id => vocabulary.Bytes(id)[0] < 0x80); // a continuation byte must come
    }

    [Fact]
    public void AStepOfTheProcessorAllocatesNothingAfterTheFirst()
    {
        var tokenizer = SharedTokenizers.Get("tiny-random-qwen3");
        var automaton = OutputConstraint.JsonSchema("""{"type":"array","items":{"type":"string"},"maxItems":4}""").For(tokenizer);
        var processor = new ConstrainedDecoding(automaton, [tokenizer.EosTokenId!.Value], maxTokens: 64);
        var logits = new float[151_936];
        int[] generated = Spell(TokenVocabulary.For(tokenizer), "[\"ab");
        processor.Reset([]);
        processor.Process(logits, generated);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            processor.TokensLeft = 20 - i;
            processor.Process(logits, generated);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void AnEndTokenThatIsAlsoAnOrdinaryTokenCannotEndAnUnfinishedAnswer()
    {
        var vocabulary = TokenVocabulary.For(Stories);
        var automaton = OutputConstraint.OneOf(["ab", "abab"]).For(vocabulary);
        int a = Spell(vocabulary, "a")[0];
        var processor = new ConstrainedDecoding(automaton, [a]); // the caller stops on "a"
        processor.Reset([]);
        var logits = new float[512];
        processor.Process(logits, []);
        Assert.True(float.IsNegativeInfinity(logits[a]), "an end token allowed before the answer is complete");
    }

    [Fact]
    public void ChoicesOnSentencePieceTokensEndOnOneOfThem()
    {
        var vocabulary = TokenVocabulary.For(Stories);
        int eos = Stories.EosTokenId!.Value;
        string[] choices = ["left", "right", "stop here"];
        var automaton = OutputConstraint.OneOf(choices).For(vocabulary);
        for (int seed = 0; seed < 20; seed++)
        {
            var ids = Decode(new ConstrainedDecoding(automaton, [eos]), 512, eos, seed);
            Assert.Contains(Text(vocabulary, ids), choices);
        }
    }
}
