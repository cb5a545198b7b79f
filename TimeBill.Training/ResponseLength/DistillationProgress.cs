namespace TimeBill.Predictors.ResponseLength;

/// <summary>Progress of a distillation run.</summary>
/// <param name="Stories">Stories written (including those found on resume).</param>
/// <param name="Prompts">Prompts written.</param>
/// <param name="TargetPrompts">Prompts asked for.</param>
/// <param name="GeneratedTokens">Tokens sampled in this run (not counting resumed stories).</param>
internal readonly record struct DistillationProgress(int Stories, int Prompts, int TargetPrompts, long GeneratedTokens);
