using TimeBill.Core.Planning;
using TimeBill.Core.Sampling;

namespace TimeBill.Core.Budget;

/// <summary>One job for an <see cref="IBudgetedGenerator"/>: a prompt and the time it must be answered in.</summary>
public sealed record BudgetedRequest
{
    /// <summary>The prompt text (BOS is prepended when the model has one). Give this or <see cref="PromptIds"/>.</summary>
    public string? Prompt { get; init; }

    /// <summary>The prompt as token ids, as the model sees them (BOS included). Give this or <see cref="Prompt"/>.</summary>
    public IReadOnlyList<int>? PromptIds { get; init; }

    /// <summary>The time budget T, measured from the call (queueing behind other requests counts).</summary>
    public required TimeSpan Budget { get; init; }

    /// <summary>What happens when the deadline cannot be met.</summary>
    public OverrunStrategy Overrun { get; init; } = OverrunStrategy.Kill;

    /// <summary>Token choice.</summary>
    public SamplingOptions Sampling { get; init; } = SamplingOptions.Greedy;

    /// <summary>Cap on generated tokens (N_max, further limited by the context).</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>
    /// Start from the engine's cached keys and values of the prompt's longest cached prefix (priced as such by the
    /// planner) and keep this prompt's for later jobs; a control loop's fixed system prompt is then prefilled once.
    /// </summary>
    public bool ReusePrefix { get; init; } = true;

    /// <summary>Tokens that end the response; null: generation_config.json's and the tokenizer's EOS (`GenerationEngine.DefaultStopTokenIds`).</summary>
    public IReadOnlyCollection<int>? StopTokenIds { get; init; }

    /// <summary>Texts that end the response when it contains them, across token boundaries (not returned).</summary>
    public IReadOnlyList<string>? StopSequences { get; init; }
    /// <summary>
    /// What the answer must be (a JSON Schema's value, one of given strings), applied last in the logits chain; null for
    /// free text. Under Kill the deadline check keeps the steps the answer needs to complete and closes it on a
    /// shortest path when only those fit (<see cref="BudgetedResult.ClosedEarly"/>), and the planner's worst case
    /// counts the longest closing. A job returns a complete answer or, when its prefill and shortest answer do not fit,
    /// none; a closing that a slow step pushed past the deadline finishes late rather than leave the answer open.
    /// Needs a generator with a tokenizer.
    /// </summary>
    public Constraints.OutputConstraint? Constraint { get; init; }

    /// <summary>
    /// Whether, under Kill, the deadline check keeps the steps a <see cref="Constraint"/>'s answer needs and closes it
    /// (default true). False leaves only the token mask (and the closing for the token cap): the deadline may then cut
    /// the answer short of complete, as a comparison for what closing buys.
    /// </summary>
    public bool CloseBeforeDeadline { get; init; } = true;

    /// <summary>k, α_max, the eviction policy and the exit policy.</summary>
    public PlannerOptions Planner { get; init; } = new();

    /// <summary>Checks everything that can be checked without the model.</summary>
    /// <exception cref="ArgumentException">No prompt or both forms, an empty prompt, T ≤ 0, a bad cap or bad planner/sampling options.</exception>
    public void Validate()
    {
        if ((Prompt is null) == (PromptIds is null))
            throw new ArgumentException("give exactly one of Prompt or PromptIds.", nameof(Prompt));
        if (Prompt is not null && string.IsNullOrWhiteSpace(Prompt))
            throw new ArgumentException("the prompt is empty.", nameof(Prompt));
        if (PromptIds is { Count: 0 })
            throw new ArgumentException("the prompt has no tokens.", nameof(PromptIds));
        if (Budget <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(Budget), Budget, "the time budget T must be positive.");
        if (MaxNewTokens <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "max new tokens must be positive.");
        ArgumentNullException.ThrowIfNull(Sampling);
        Sampling.Validate();
        if (StopSequences?.Any(s => s is null) == true) throw new ArgumentException("a stop sequence is null.", nameof(StopSequences));
        ArgumentNullException.ThrowIfNull(Planner);
        Planner.Validate();
    }
}
