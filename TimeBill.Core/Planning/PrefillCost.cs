namespace TimeBill.Core.Planning;

/// <summary>
/// Prefill time model <c>t_prefill(Nx) = A·Nx² + B·Nx + C + D·⌈Nx / QueryBlock⌉</c> in milliseconds, with <c>Nx</c> the
/// prompt length in tokens. The quadratic term is attention over the prompt, the linear term the per-token matrix work,
/// the constant the fixed overhead of one forward call. Prefill attention runs in blocks of <c>QueryBlock</c> queries,
/// and every block pays a fixed cost of its own (its operator launches in every layer): <c>D</c> is that cost, a step
/// wherever the prompt spills into one more block. It is a few percent of a 128-token slope on a 135M model but a third
/// of a small model's (stories260K: about 2 ms per block against 6 ms per call), where a plain quadratic leaves a
/// ±6 % saw-tooth. <c>QueryBlock = 0</c> leaves the term out (the plain quadratic). A prefill in chunks of at most
/// <c>Chunk</c> tokens runs ⌈Nx / Chunk⌉ forward calls of equal size (within one token): each pays <c>C</c> and runs its
/// own blocks (<see cref="Calls"/>, <see cref="Blocks(double)"/>).
/// <para>
/// A prompt whose first <c>Nc</c> tokens come from the prefix cache prefills only the other <c>Nn</c>:
/// <c>t(Nc, Nn) = A·Nn² + E·Nc·Nn + G·Nn + H + K·min(Nn, ShortTokens) + D·⌈Nn / QueryBlock⌉ + F·Nc</c> (the chunks
/// counted over the <c>Nn</c> new tokens). <c>E</c> is the new queries' attention
/// over the cached keys, <c>F</c> the copy of the cached entries into the job's cache, <c>G</c> and <c>H</c> the per-token
/// and fixed cost of a prefill that continues a cache, which need not be a cold prefill's <c>B</c> and <c>C</c> (a cold
/// prefill also sets the cache up). <c>K</c> is what each of the first <see cref="ShortTokens"/> new tokens costs beyond
/// <c>G</c>: a matrix product over a few dozen rows does less work per row than a longer one, and the observations
/// of one tick are that short. Without profiled warm prefills <c>E</c> is <c>2A</c> (a cached key costs a new query
/// what a new key does), <c>F</c> and <c>K</c> are 0, <c>G</c> is <c>B</c> and <c>H</c> is <c>C</c>.
/// </para>
/// </summary>
/// <param name="A">Milliseconds per squared prompt token (≥ 0).</param>
/// <param name="B">Milliseconds per prompt token (≥ 0).</param>
/// <param name="C">Fixed milliseconds per prefill (≥ 0).</param>
/// <param name="D">Fixed milliseconds per block of <paramref name="QueryBlock"/> queries (≥ 0).</param>
/// <param name="QueryBlock">Queries per prefill attention block; 0: no block term.</param>
/// <param name="E">Milliseconds per new token and cached token (≥ 0); null: <c>2A</c>.</param>
/// <param name="F">Milliseconds per cached token restored (≥ 0).</param>
/// <param name="G">Milliseconds per new token after a cached prefix (≥ 0); null: <paramref name="B"/>.</param>
/// <param name="H">Fixed milliseconds of a prefill after a cached prefix (≥ 0); null: <paramref name="C"/>.</param>
/// <param name="Chunk">Tokens per forward call of a chunked prefill (the engine's prefill chunk); 0: one call.</param>
/// <param name="K">Milliseconds beyond <paramref name="G"/> per new token, for the first <see cref="ShortTokens"/> new tokens after a cached prefix (≥ 0).</param>
public sealed record PrefillCost(double A, double B, double C, double D = 0, int QueryBlock = 0, double? E = null, double F = 0,
    double? G = null, double? H = null, int Chunk = 0, double K = 0)
{
    /// <summary>The new tokens after a cached prefix that <see cref="K"/> applies to.</summary>
    public const int ShortTokens = 64;

    /// <summary>Predicted prefill time in milliseconds of <paramref name="newLength"/> tokens after <paramref name="cachedLength"/> restored from the prefix cache.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative length.</exception>
    public double Milliseconds(double cachedLength, double newLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cachedLength);
        ArgumentOutOfRangeException.ThrowIfNegative(newLength);
        if (cachedLength == 0) return Milliseconds(newLength);
        return Curve(newLength, G ?? B, H ?? C) + K * Math.Min(newLength, ShortTokens) + ((E ?? 2 * A) * newLength + F) * cachedLength;
    }

    /// <summary>Predicted prefill time in milliseconds for a prompt of <paramref name="promptLength"/> tokens.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="promptLength"/> is negative.</exception>
    public double Milliseconds(double promptLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptLength);
        return Curve(promptLength, B, C);
    }

    /// <summary>
    /// The attention and block terms of <paramref name="tokens"/> prefilled tokens with the given per-token and fixed
    /// cost: the cold curve with <c>B</c> and <c>C</c>, the new tokens after a cached prefix with <c>G</c> and <c>H</c>.
    /// </summary>
    private double Curve(double tokens, double perToken, double fixedMilliseconds) =>
        (A * tokens + perToken) * tokens + fixedMilliseconds * Calls(tokens) + D * Blocks(tokens);

    /// <summary>This cost with every coefficient multiplied by <paramref name="factor"/> (a uniformly slower or faster machine).</summary>
    public PrefillCost Scaled(double factor) => this with { A = A * factor, B = B * factor, C = C * factor, D = D * factor, E = E * factor, F = F * factor, G = G * factor, H = H * factor, K = K * factor };

    /// <summary>The forward calls of a prefill of <paramref name="tokens"/> tokens: ⌈tokens / Chunk⌉, at least one: the feature of <c>C</c>.</summary>
    public double Calls(double tokens) => Chunk > 0 ? Math.Max(1, Math.Ceiling(tokens / Chunk)) : 1;

    /// <summary>
    /// The attention blocks of a prefill of <paramref name="tokens"/> tokens in equal chunks, each in blocks of its own (0 when
    /// <see cref="QueryBlock"/> is 0): the feature of <c>D</c>.
    /// </summary>
    public double Blocks(double tokens)
    {
        if (QueryBlock <= 0) return 0;
        if (Chunk <= 0) return Math.Ceiling(tokens / QueryBlock);
        double calls = Calls(tokens), small = Math.Floor(tokens / calls), large = tokens - small * calls;
        return large * Math.Ceiling((small + 1) / QueryBlock) + (calls - large) * Math.Ceiling(small / QueryBlock);
    }
}
