"""The offline answerer: cited evidence sentences, typed short answers and multiple choice."""
