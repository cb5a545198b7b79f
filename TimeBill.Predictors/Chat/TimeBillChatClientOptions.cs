using Microsoft.Extensions.Logging;
using TimeBill.Core.Budget;

namespace TimeBill.Predictors.Chat;

/// <summary>How a <see cref="TimeBillChatClient"/> is built and what requests get when their ChatOptions say nothing.</summary>
public sealed record TimeBillChatClientOptions
{
    /// <summary>The time budget of requests without <see cref="TimeBillChatOptionsExtensions.WithTimeBudget"/> (default 10 s).</summary>
    public TimeSpan DefaultBudget { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The overrun strategy of requests without <see cref="TimeBillChatOptionsExtensions.WithOverrun"/> (default Kill).</summary>
    public OverrunStrategy DefaultOverrun { get; set; } = OverrunStrategy.Kill;

    /// <summary>The token cap of requests without <c>ChatOptions.MaxOutputTokens</c> (default 256).</summary>
    public int DefaultMaxOutputTokens { get; set; } = 256;

    /// <summary>The execution-time profile (<c>timebill profile</c>) for the model folder; only read when the client builds the generator.</summary>
    public string? ProfilePath { get; set; }

    /// <summary>The response-length predictor (<c>timebill train-rlp</c>); only read when the client builds the generator.</summary>
    public string? LengthPredictorPath { get; set; }

    /// <summary>Exit heads for layer skipping (<c>timebill train-exit</c>); only read when the client builds the generator.</summary>
    public string? ExitHeadsPath { get; set; }

    /// <summary>libtorch intra-op threads (null: the builder's default); only read when the client builds the generator.</summary>
    public int? Threads { get; set; }

    /// <summary>Creates the client's logger when <see cref="Logger"/> is not set.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>The client's logger (Debug: each request's budget, status, plan and timings); wins over <see cref="LoggerFactory"/>.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// The tokenizer whose chat template renders the messages (and encodes the rendering); default: the generator's,
    /// when it is a <see cref="TimeBill.Core.Budget.BudgetedGenerator"/>. Without a chat template messages become
    /// <see cref="PlainChatFormat"/> text.
    /// </summary>
    public TimeBill.Core.Tokenization.TextTokenizer? Tokenizer { get; set; }

    /// <summary>The model id the client reports and accepts in <c>ChatOptions.ModelId</c> (default: the model folder's name).</summary>
    public string? ModelId { get; set; }
}
