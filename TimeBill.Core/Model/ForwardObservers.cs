using TimeBill.Core.Cache;
using static TorchSharp.torch;

namespace TimeBill.Core.Model;

/// <summary>Combines forward observers so one prefill can feed several (an eviction capture and a length probe).</summary>
internal static class ForwardObservers
{
    /// <summary>An observer calling each non-null one in turn; null when none is left, the one itself when alone.</summary>
    public static IForwardObserver? Combine(params IForwardObserver?[] observers)
    {
        var present = observers.OfType<IForwardObserver>().ToArray();
        return present.Length switch { 0 => null, 1 => present[0], _ => new Composite(present) };
    }

    private sealed class Composite(IForwardObserver[] observers) : IForwardObserver
    {
        public void OnAttention(int layer, Tensor queries, KvCache cache)
        {
            foreach (var observer in observers) observer.OnAttention(layer, queries, cache);
        }

        public int PrefillAttentionQueries => observers.Max(o => o.PrefillAttentionQueries);

        public int ObservedPromptTokens => observers.Max(o => o.ObservedPromptTokens);

        public void OnPrefillAttention(int layer, PrefillAttention attention)
        {
            foreach (var observer in observers)
                if (observer.PrefillAttentionQueries > 0) observer.OnPrefillAttention(layer, attention);
        }

        public void OnHiddenState(int layer, Tensor hidden)
        {
            foreach (var observer in observers) observer.OnHiddenState(layer, hidden);
        }
    }
}
