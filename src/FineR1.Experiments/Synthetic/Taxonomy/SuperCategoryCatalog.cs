namespace FineR1.Experiments.Synthetic.Taxonomy;

/// <summary>
/// The fixed definitions of the three super-categories: attributes (value order matches the painters' palettes in
/// <c>Rendering/</c>) and question phrasings taken from the paper's released data (docs/method.md §3.1, §6.2).
/// </summary>
public static class SuperCategoryCatalog
{
    private static AttributeValue V(string word, string phrase) => new(word, phrase);

    /// <summary>Perched songbirds.</summary>
    public static SuperCategory Birds { get; } = new(SuperCategoryKind.Birds, "bird", "birds",
        [
            new("crown colour", "The crown is {0}.",
                [V("crimson", "a crimson crown"), V("golden", "a golden crown"), V("azure", "an azure crown"),
                 V("black", "a black crown"), V("white", "a white crown"), V("emerald", "an emerald crown")]),
            new("wing bars", "The wings show {0}.",
                [V("no wing bars", "no wing bars"), V("a single white wing bar", "a single white wing bar"),
                 V("double white wing bars", "double white wing bars")]),
            new("breast pattern", "The breast is {0}.",
                [V("plain", "a plain breast"), V("streaked", "a streaked breast"), V("spotted", "a spotted breast")]),
            new("tail shape", "The tail is {0}.",
                [V("forked", "a forked tail"), V("rounded", "a rounded tail"), V("pointed", "a pointed tail")]),
            new("beak length", "The beak is {0}.", [V("short", "a short beak"), V("long", "a long beak")]),
        ],
        evalQuestions:
        [
            "What kind of bird is this?", "What type of bird is shown in the image?", "What is the bird shown in the photo?",
            "Can you identify the bird in this image?", "What is the name of the bird in the photo?", "Do you know what bird this is?",
            "What is the bird featured in this picture?", "Can you help me recognize the bird in this photo?",
            "Could you tell me the species of this bird?", "What species is the bird in this picture?",
        ],
        trainQuestions:
        [
            "What is the proper name of this bird?", "Give the name of this bird.", "Identify the species of this bird.",
            "What bird species is this?", "What is the name of this bird?", "What species is this bird?",
            "Name the bird in the picture.", "What is the exact species name of this bird?", "What bird is shown in the image?",
            "What is this bird called?", "What species does this bird belong to?", "Provide the exact name of this bird.",
        ]);

    /// <summary>Butterflies seen from above.</summary>
    public static SuperCategory Butterflies { get; } = new(SuperCategoryKind.Butterflies, "butterfly", "butterflies",
        [
            new("wing colour", "The wings are {0}.",
                [V("orange", "orange wings"), V("blue", "blue wings"), V("yellow", "yellow wings"),
                 V("white", "white wings"), V("scarlet", "scarlet wings"), V("green", "green wings")]),
            new("wing tips", "The forewing tips are {0}.", [V("black", "black forewing tips"), V("plain", "plain forewing tips")]),
            new("hindwing shape", "The hindwings are {0}.",
                [V("rounded", "rounded hindwings"), V("tailed", "tailed hindwings"), V("scalloped", "scalloped hindwings")]),
            new("spot pattern", "The wings carry {0}.",
                [V("no spots", "no spots"), V("eyespots on the hindwings", "eyespots on the hindwings"),
                 V("white dots along the forewing margins", "white dots along the forewing margins")]),
        ],
        evalQuestions:
        [
            "What kind of butterfly is this?", "What type of butterfly is shown in the image?", "What is the butterfly shown in the photo?",
            "Can you identify the butterfly in this image?", "What is the name of the butterfly in the photo?", "Do you know what butterfly this is?",
            "What is the butterfly featured in this picture?", "Can you help me recognize the butterfly in this photo?",
            "Could you tell me the species of this butterfly?", "What species is the butterfly in this picture?",
        ],
        trainQuestions:
        [
            "What is the proper name of this butterfly?", "Give the name of this butterfly.", "Identify the species of this butterfly.",
            "What butterfly species is this?", "What is the name of this butterfly?", "What species is this butterfly?",
            "Name the butterfly in the picture.", "What is the exact species name of this butterfly?", "What butterfly is shown in the image?",
            "What is this butterfly called?", "What species does this butterfly belong to?", "Provide the exact name of this butterfly.",
        ]);

    /// <summary>Aircraft silhouettes seen from above.</summary>
    public static SuperCategory Aircraft { get; } = new(SuperCategoryKind.Aircraft, "aircraft", "aircraft",
        [
            new("wing shape", "The wings are {0}.",
                [V("straight", "straight wings"), V("swept", "swept wings"), V("delta-shaped", "delta wings")]),
            new("engines", "It has {0}.",
                [V("two wing-mounted engines", "two wing-mounted engines"), V("four wing-mounted engines", "four wing-mounted engines"),
                 V("two rear-mounted engines", "two rear-mounted engines")]),
            new("tail layout", "The tail layout is {0}.",
                [V("conventional", "a conventional tailplane"), V("a V-tail", "a V-tail"), V("canard, with foreplanes and no tailplane", "canard foreplanes")]),
            new("livery stripe", "The livery stripe is {0}.",
                [V("red", "a red livery stripe"), V("blue", "a blue livery stripe"), V("green", "a green livery stripe"),
                 V("orange", "an orange livery stripe"), V("purple", "a purple livery stripe"), V("black", "a black livery stripe")]),
            new("nose", "The nose is {0}.", [V("pointed", "a pointed nose"), V("blunt", "a blunt nose")]),
        ],
        evalQuestions:
        [
            "What is the aircraft featured in this picture?", "What is the aircraft shown in the photo?", "Can you identify the aircraft in this image?",
            "Can you help me recognize the aircraft in this photo?", "What type of aircraft is shown in the image?", "Do you know what aircraft this is?",
            "What is the name of the aircraft in the photo?", "Could you tell me the model of this aircraft?", "What kind of aircraft is this?",
            "What model is the aircraft in this picture?",
        ],
        trainQuestions:
        [
            "Based on this image, what model of airplane is shown?", "Can you determine the name of the aircraft in this image?",
            "Can you identify the aircraft model based on this image?", "Can you name the airplane model shown in this image?",
            "Identify the airplane model visible in this image.", "What is the make and model of the airplane in this image?",
            "What is the name of the airplane shown in this image?", "What is the specific name of the airplane in this image?",
            "What kind of airplane is depicted in this image?", "What model of aircraft is visible in this image?",
            "What specific model of airplane is depicted in this image?", "What type of aircraft is depicted in the image?",
        ]);

    /// <summary>The definition of <paramref name="kind"/>.</summary>
    public static SuperCategory Get(SuperCategoryKind kind) => kind switch
    {
        SuperCategoryKind.Birds => Birds,
        SuperCategoryKind.Butterflies => Butterflies,
        SuperCategoryKind.Aircraft => Aircraft,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown super-category."),
    };
}
