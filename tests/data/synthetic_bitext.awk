# Synthetic parallel corpus for tests and the quick demo: English
# sentences from a small lexicon and their word-by-word "translations" into
# pseudo-German (second word moved to the end) and pseudo-French.
# Usage: awk -v seed=1 -v count=3000 -v lang=de -f synthetic_bitext.awk
BEGIN {
  split("the cat dog bird sees likes eats a small big red green house tree river man woman child quickly slowly today", en, " ")
  split("der katze hund vogel sieht mag isst ein klein gross rot gruen haus baum fluss mann frau kind schnell langsam heute", de, " ")
  split("le chat chien oiseau voit aime mange un petit grand rouge vert maison arbre riviere homme femme enfant vite lentement aujourdhui", fr, " ")
  n = 21; srand(seed)
  for (s = 0; s < count; s++) {
    len = 3 + int(rand() * 6); e = ""; d = ""; f = ""
    for (w = 0; w < len; w++) { k = 1 + int(rand() * n); e = e (w ? " " : "") en[k]; f = f (w ? " " : "") fr[k]; dw[w] = de[k] }
    # German: move the second word to the end
    d = dw[0]; for (w = 2; w < len; w++) d = d " " dw[w]; d = d " " dw[1]
    if (lang == "de") print e "\t" d; else print e "\t" f
  }
}
