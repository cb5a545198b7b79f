namespace TimeBill.Core.Decoding;

/// <summary>
/// Asked by <see cref="KernelDecoder.Step(int, TimeBill.Core.Cache.KvCache, Span{float}, KernelExitCheck)"/> after every
/// layer below the last whether the token exits there. Returning true ends the token after <paramref name="layer"/>:
/// the callee must have written the token's next-token logits into <paramref name="logits"/> (for example from an
/// exit head); the decoder then fills the skipped layers' keys and values from <paramref name="hidden"/>.
/// </summary>
/// <param name="layer">The 0-based layer that just ran.</param>
/// <param name="hidden">The residual stream after <paramref name="layer"/> <c>[hidden]</c>, valid during the call only.</param>
/// <param name="logits">The step's logits buffer <c>[vocab]</c>, to be filled when exiting.</param>
internal delegate bool KernelExitCheck(int layer, ReadOnlySpan<float> hidden, Span<float> logits);
