using TimeBill.Core.Generation;
using TimeBill.Core.Model;
using TimeBill.Predictors.ExecutionTime;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.ExecutionTime;

[Collection(ModelCollection.Name)]
public class ModelProfilingTargetTests(ModelFixture models)
{
    [Fact]
    public void RunsPrefillsAndLayerLimitedStepsOnTheRealModel()
    {
        var model = models.Get("stories260K");
        using var engine = new GenerationEngine(model, new EngineOptions { PrefillChunkSize = 16 });
        using var target = new ModelProfilingTarget(engine, maxPromptLength: 64, maxKvLength: 100);
        Assert.Equal(5, target.LayerCount);
        Assert.Equal(512, target.MaxContext);

        target.Prefill(1);
        target.Prefill(64);
        foreach (int layers in new[] { 1, 3, 5 })
        {
            target.PrepareDecodeStep(100);
            target.DecodeStep(100, layers);
        }
        // The step appended an entry: stepping again without preparing would time the wrong length.
        Assert.Throws<InvalidOperationException>(() => target.DecodeStep(100, 5));
        target.PrepareDecodeStep(7);
        Assert.Throws<InvalidOperationException>(() => target.DecodeStep(8, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => target.Prefill(65));
        Assert.Throws<ArgumentOutOfRangeException>(() => target.PrepareDecodeStep(101));
    }

    [Fact]
    public void AWarmPrefillRestoresThePreparedPrefixAndPrefillsTheRest()
    {
        var model = models.Get("stories260K");
        using var engine = new GenerationEngine(model, new EngineOptions { PrefillChunkSize = 16 });
        using var target = new ModelProfilingTarget(engine, maxPromptLength: 64, maxKvLength: 100);
        Assert.True(target.SupportsCachedPrefill);
        Assert.Throws<InvalidOperationException>(() => target.Prefill(32, 8)); // not prepared
        target.PrepareCachedPrefill(32);
        target.Prefill(32, 8);
        target.Prefill(32, 32);
        Assert.Throws<ArgumentOutOfRangeException>(() => target.PrepareCachedPrefill(20)); // not whole blocks
        Assert.Throws<ArgumentOutOfRangeException>(() => target.Prefill(32, 33));           // beyond the profiled prompt
    }

    [Fact]
    public void IdentityDependsOnTheShapeNotTheWeights()
    {
        var real = models.Get("stories260K");
        using var random = CausalLanguageModel.CreateRandom(real.Config, seed: 3);
        using var realEngine = new GenerationEngine(real);
        using var randomEngine = new GenerationEngine(random);
        using var a = new ModelProfilingTarget(realEngine, 8, 8);
        using var b = new ModelProfilingTarget(randomEngine, 8, 8);
        Assert.Equal(a.ModelIdentity, b.ModelIdentity);
        Assert.StartsWith("llama-L5-d64-", a.ModelIdentity);
    }
}
