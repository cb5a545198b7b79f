namespace TimeBill.Predictors.Exit;

/// <summary>Story openings for TinyStories-style models: one set to distil exit heads from, a disjoint one to evaluate on.</summary>
internal static class ExitPrompts
{
    /// <summary>Openings the distillation stories are sampled from.</summary>
    public static IReadOnlyList<string> Training { get; } =
    [
        "Once upon a time", "One day, a little girl named Lily", "Tom had a big red ball", "There was a small cat",
        "The sun was shining and", "Ben and his mom went to the park", "A little bird lived in a tree", "Sara loved to play with her doll",
        "The dog was very happy because", "Once there was a boy who liked to", "In a small house near the woods", "Mia found a shiny stone",
    ];

    /// <summary>Held-out openings for evaluation (never used for training).</summary>
    public static IReadOnlyList<string> HeldOut { get; } =
    [
        "Once upon a time, there was a little fish", "Lucy wanted to bake a cake", "The big bear was hungry", "Jack and Anna built a sandcastle",
        "It was a rainy day and", "A kind old man had a garden", "Max saw a butterfly", "The little car could not go fast",
        "One morning, the girl woke up and", "There was a tall tree in the park", "Sam had a new toy truck", "The princess lived in a castle",
        "Timmy was scared of the dark", "A frog sat on a log", "Emma and her dad went fishing", "The puppy found a bone",
    ];
}
