"""Every text a user hears from the assistant itself, per language, in one place.

Answers come from the event's documents; everything else (static replies, "I don't know", the apology,
the guardrail's refusal) is written here. ``say`` picks the user's language when it has the text, else
``DEFAULT_LANGUAGE``.
"""

from __future__ import annotations

import re

DEFAULT_LANGUAGE = "en"

HEARD = '🎤 "{text}"'
"""What a voice note was heard to say, shown before its answer: the same in every language."""

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "help_desk": "the help desk at registration",
        "sources": "Sources:",
        "quoted": "From the event's documents:",
        "unsupported": (
            "Sorry, I can only read text messages for now. Please type your question "
            '(for example: "Where is the opening keynote?").'
        ),
        "too_long": (
            "That message is a bit long for me ({length} characters). Please ask in at most {limit} "
            "characters, one question at a time."
        ),
        "busy": (
            "I'm still working on your previous question. I'll answer it first; please send this one again "
            "once you have that answer."
        ),
        "rate_limited": (
            "You're sending messages faster than I can answer. Please wait a minute before asking again; "
            "messages sent until then will not be answered."
        ),
        "not_allowed": "Sorry, this assistant is only available to registered attendees of the event.",
        "welcome": (
            "Hi! I'm the event assistant. Ask me anything about the event: sessions, speakers, rooms, "
            "times, the venue. Type your question to start."
        ),
        "conversation_reset": (
            "(We've talked a lot, so I've started a fresh conversation: earlier messages are forgotten.)"
        ),
        "dont_know": (
            "I'm sorry, I couldn't find that in the event's information. Please ask at {help_desk}: they "
            "will be happy to help."
        ),
        "guardrail": "Sorry, I can't help with that. I can answer questions about the event.",
        "apology": (
            "Sorry, I couldn't answer that just now. Please try again in a minute, or ask at {help_desk}."
        ),
        "budget": "Lots of questions right now! Please ask me again in a minute.",
        "greeting": (
            "Hi! I'm the event assistant. Ask me about sessions, speakers, rooms, times or the venue, for "
            'example: "Where is the opening keynote?", "Is there a quiet room?", "What\'s on next in hall B?"'
        ),
        "help": (
            'I answer questions about the event from its agenda, venue guide and FAQ. Try: "Where is the '
            'opening keynote?", "What\'s the Wi-Fi password?", "Is there a quiet room?"'
        ),
        "unsupported_media": (
            "Sorry, I can only read text and listen to voice messages. Please type or say your question (for "
            'example: "Where is the opening keynote?").'
        ),
        "audio_too_long": (
            "That voice message is a bit long for me. Please ask in at most {limit} seconds, one question at "
            "a time, or type it."
        ),
        "audio_too_big": (
            "That audio file is too large for me. Please send a short voice message, or type your question."
        ),
        "audio_unreadable": (
            "Sorry, I couldn't play that audio. Please record it again as a voice message, or type your "
            "question."
        ),
        "audio_unclear": "Sorry, I couldn't make that out. Could you say it again, or type your question?",
        "thanks": "You're welcome! Ask me anytime.",
        # Replies built from the agenda tools' results (schedule_questions.render).
        "agenda_now": "Now ({time}):",
        "agenda_next": "Next, at {time}:",
        "agenda_later": "Later today:",
        "agenda_today": "Today:",
        "agenda_this_morning": "This morning:",
        "agenda_this_afternoon": "This afternoon:",
        "agenda_this_evening": "This evening:",
        "agenda_tomorrow": "Tomorrow:",
        "agenda_tomorrow_morning": "Tomorrow morning:",
        "agenda_tomorrow_afternoon": "Tomorrow afternoon:",
        "agenda_upcoming": "Coming up:",
        "agenda_on_day": "On {day}:",
        "agenda_sessions": "Sessions:",
        "agenda_room_now": "In {room} now:",
        "agenda_room_next": "In {room} next:",
        "agenda_room": "In {room}:",
        "agenda_by_speaker": "Sessions by {speaker}:",
        "agenda_about": "Talks about {topic}:",
        "agenda_recommend": "You might like:",
        "agenda_none_now": "Nothing is on right now.",
        "agenda_none_next": "Nothing more is scheduled.",
        "agenda_none_room": "I found nothing scheduled in {room}.",
        "agenda_none_by_speaker": "I found no session by {speaker}.",
        "agenda_none_about": "I found no session about {topic}.",
        "agenda_none_recommend": "I found no session to recommend.",
        "agenda_none": "I found no session at that time.",
        "agenda_more": "…and {count} more.",
        "agenda_weekdays": "Mon Tue Wed Thu Fri Sat Sun",
        "agenda_months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
        "agenda_date": "{weekday} {day} {month}",
        "agenda_not_started": "The event starts on {day}.",
        "agenda_over": "The event is over: there are no more sessions.",
    },
    "es": {
        "help_desk": "el mostrador de ayuda, junto al registro",
        "sources": "Fuentes:",
        "quoted": "Esto es lo que dicen los documentos del evento (en inglés):",
        "unsupported": (
            "Lo siento, por ahora solo leo mensajes de texto. Escribe tu pregunta "
            '(por ejemplo: "¿Dónde es la charla inaugural?").'
        ),
        "too_long": (
            "Tu mensaje es algo largo para mí ({length} caracteres). Pregunta en {limit} caracteres como "
            "máximo, una pregunta cada vez."
        ),
        "busy": (
            "Todavía estoy con tu pregunta anterior. La respondo primero; envía esta de nuevo cuando "
            "tengas esa respuesta."
        ),
        "rate_limited": (
            "Envías mensajes más rápido de lo que puedo responder. Espera un minuto antes de preguntar de "
            "nuevo; los mensajes enviados hasta entonces no se responderán."
        ),
        "not_allowed": "Lo siento, este asistente es solo para asistentes registrados del evento.",
        "welcome": (
            "¡Hola! Soy el asistente del evento. Pregúntame lo que quieras: sesiones, ponentes, salas, "
            "horarios, el recinto."
        ),
        "conversation_reset": "(Hemos hablado mucho, así que empiezo una conversación nueva.)",
        "dont_know": (
            "Lo siento, no encuentro eso en la información del evento. Pregunta en {help_desk}: te "
            "ayudarán con gusto."
        ),
        "guardrail": "Lo siento, no puedo ayudar con eso. Puedo responder preguntas sobre el evento.",
        "apology": (
            "Lo siento, ahora mismo no puedo responder. Inténtalo de nuevo en un minuto o pregunta en "
            "{help_desk}."
        ),
        "budget": "¡Me llegan muchas preguntas ahora mismo! Por favor, vuelve a preguntarme en un minuto.",
        "greeting": (
            "¡Hola! Soy el asistente del evento. Pregúntame por sesiones, ponentes, salas, horarios o el "
            'recinto, por ejemplo: "¿Dónde es la charla inaugural?", "¿Hay una sala tranquila?", '
            '"¿Qué hay ahora en la sala B?"'
        ),
        "help": (
            "Respondo preguntas sobre el evento a partir de su agenda, guía del recinto y preguntas "
            'frecuentes. Prueba: "¿Dónde es la charla inaugural?", "¿Cuál es la contraseña del wifi?"'
        ),
        "unsupported_media": (
            "Lo siento, solo puedo leer mensajes de texto y escuchar notas de voz. Escribe o di tu pregunta "
            '(por ejemplo: "¿Dónde es la charla inaugural?").'
        ),
        "audio_too_long": (
            "Esa nota de voz es un poco larga para mí. Pregunta en {limit} segundos como máximo, una pregunta"
            " cada vez, o escríbela."
        ),
        "audio_too_big": (
            "Ese audio es demasiado grande para mí. Envía una nota de voz corta o escribe tu pregunta."
        ),
        "audio_unreadable": (
            "Lo siento, no he podido reproducir ese audio. Grábalo de nuevo como nota de voz o escribe tu "
            "pregunta."
        ),
        "audio_unclear": "Lo siento, no he entendido bien. ¿Puedes repetirlo o escribir tu pregunta?",
        "thanks": "¡De nada! Pregúntame cuando quieras.",
        # Replies built from the agenda tools' results (schedule_questions.render).
        "agenda_now": "Ahora ({time}):",
        "agenda_next": "A continuación, a las {time}:",
        "agenda_later": "Más tarde, hoy:",
        "agenda_today": "Hoy:",
        "agenda_this_morning": "Esta mañana:",
        "agenda_this_afternoon": "Esta tarde:",
        "agenda_this_evening": "Esta noche:",
        "agenda_tomorrow": "Mañana:",
        "agenda_tomorrow_morning": "Mañana por la mañana:",
        "agenda_tomorrow_afternoon": "Mañana por la tarde:",
        "agenda_upcoming": "Próximamente:",
        "agenda_on_day": "El {day}:",
        "agenda_sessions": "Sesiones:",
        "agenda_room_now": "Ahora en {room}:",
        "agenda_room_next": "A continuación en {room}:",
        "agenda_room": "En {room}:",
        "agenda_by_speaker": "Sesiones de {speaker}:",
        "agenda_about": "Charlas sobre {topic}:",
        "agenda_recommend": "Te pueden interesar:",
        "agenda_none_now": "Ahora mismo no hay ninguna sesión.",
        "agenda_none_next": "No hay nada más programado.",
        "agenda_none_room": "No encontré nada programado en {room}.",
        "agenda_none_by_speaker": "No encontré ninguna sesión de {speaker}.",
        "agenda_none_about": "No encontré ninguna sesión sobre {topic}.",
        "agenda_none_recommend": "No encontré ninguna sesión que recomendarte.",
        "agenda_none": "No encontré ninguna sesión a esa hora.",
        "agenda_more": "…y {count} más.",
        "agenda_weekdays": "lun mar mié jue vie sáb dom",
        "agenda_months": "ene feb mar abr may jun jul ago sep oct nov dic",
        "agenda_date": "{weekday} {day} {month}",
        "agenda_not_started": "El evento empieza el {day}.",
        "agenda_over": "El evento ha terminado: ya no hay más sesiones.",
    },
    "pt": {
        "help_desk": "balcão de ajuda, junto ao credenciamento",
        "sources": "Fontes:",
        "quoted": "Eis o que dizem os documentos do evento (em inglês):",
        "unsupported": (
            "Desculpe, por enquanto só leio mensagens de texto. Escreva a sua pergunta "
            '(por exemplo: "Onde é a palestra de abertura?").'
        ),
        "too_long": (
            "A sua mensagem é um pouco longa para mim ({length} caracteres). Pergunte em no máximo {limit} "
            "caracteres, uma pergunta de cada vez."
        ),
        "busy": (
            "Ainda estou respondendo à sua pergunta anterior. Respondo a ela primeiro; envie esta de novo "
            "quando receber essa resposta."
        ),
        "rate_limited": (
            "Você está enviando mensagens mais rápido do que consigo responder. Espere um minuto antes de "
            "perguntar de novo; as mensagens enviadas até lá não serão respondidas."
        ),
        "not_allowed": "Desculpe, este assistente é só para participantes inscritos no evento.",
        "welcome": (
            "Olá! Sou o assistente do evento. Pergunte-me o que quiser: sessões, palestrantes, salas, "
            "horários, o local."
        ),
        "conversation_reset": "(Conversamos bastante, então comecei uma conversa nova.)",
        "dont_know": (
            "Desculpe, não encontrei isso nas informações do evento. Pergunte no {help_desk}: terão todo o "
            "gosto em ajudar."
        ),
        "guardrail": "Desculpe, não posso ajudar com isso. Posso responder perguntas sobre o evento.",
        "apology": (
            "Desculpe, não consegui responder agora. Tente de novo em um minuto ou pergunte no {help_desk}."
        ),
        "budget": "Estou recebendo muitas perguntas agora! Por favor, pergunte de novo em um minuto.",
        "greeting": (
            "Olá! Sou o assistente do evento. Pergunte-me sobre sessões, palestrantes, salas, horários ou o "
            'local, por exemplo: "Onde é a palestra de abertura?", "Há uma sala silenciosa?", '
            '"O que há a seguir na sala B?"'
        ),
        "help": (
            "Respondo a perguntas sobre o evento com base na agenda, no guia do local e nas perguntas "
            'frequentes. Experimente: "Onde é a palestra de abertura?", "Qual é a senha do Wi-Fi?"'
        ),
        "unsupported_media": (
            "Desculpe, só consigo ler mensagens de texto e ouvir mensagens de voz. Escreva ou diga a sua "
            'pergunta (por exemplo: "Onde é a keynote de abertura?").'
        ),
        "audio_too_long": (
            "Essa mensagem de voz é um pouco longa para mim. Pergunte em no máximo {limit} segundos, uma "
            "pergunta de cada vez, ou escreva-a."
        ),
        "audio_too_big": (
            "Esse áudio é grande demais para mim. Envie uma mensagem de voz curta ou escreva a sua pergunta."
        ),
        "audio_unreadable": (
            "Desculpe, não consegui reproduzir esse áudio. Grave-o de novo como mensagem de voz ou escreva a "
            "sua pergunta."
        ),
        "audio_unclear": "Desculpe, não percebi bem. Pode repetir ou escrever a sua pergunta?",
        "thanks": "De nada! Pergunte quando quiser.",
        # Replies built from the agenda tools' results (schedule_questions.render).
        "agenda_now": "Agora ({time}):",
        "agenda_next": "A seguir, às {time}:",
        "agenda_later": "Mais tarde, hoje:",
        "agenda_today": "Hoje:",
        "agenda_this_morning": "Esta manhã:",
        "agenda_this_afternoon": "Esta tarde:",
        "agenda_this_evening": "Esta noite:",
        "agenda_tomorrow": "Amanhã:",
        "agenda_tomorrow_morning": "Amanhã de manhã:",
        "agenda_tomorrow_afternoon": "Amanhã à tarde:",
        "agenda_upcoming": "Em breve:",
        "agenda_on_day": "{day}:",
        "agenda_sessions": "Sessões:",
        "agenda_room_now": "Agora em {room}:",
        "agenda_room_next": "A seguir em {room}:",
        "agenda_room": "Em {room}:",
        "agenda_by_speaker": "Sessões de {speaker}:",
        "agenda_about": "Palestras sobre {topic}:",
        "agenda_recommend": "Talvez goste de:",
        "agenda_none_now": "Neste momento não há nenhuma sessão.",
        "agenda_none_next": "Não há mais nada agendado.",
        "agenda_none_room": "Não encontrei nada agendado em {room}.",
        "agenda_none_by_speaker": "Não encontrei nenhuma sessão de {speaker}.",
        "agenda_none_about": "Não encontrei nenhuma sessão sobre {topic}.",
        "agenda_none_recommend": "Não encontrei nenhuma sessão para recomendar.",
        "agenda_none": "Não encontrei nenhuma sessão nesse horário.",
        "agenda_more": "…e mais {count}.",
        "agenda_weekdays": "seg ter qua qui sex sáb dom",
        "agenda_months": "jan fev mar abr mai jun jul ago set out nov dez",
        "agenda_date": "{weekday} {day} {month}",
        "agenda_not_started": "O evento começa a {day}.",
        "agenda_over": "O evento terminou: já não há mais sessões.",
    },
    "fr": {
        "help_desk": "l'accueil, près de l'enregistrement",
        "sources": "Sources :",
        "quoted": "Voici le passage des documents de l'événement, en anglais :",
        "unsupported": (
            "Désolé, je ne lis que les messages texte pour l'instant. Écrivez votre question "
            "(par exemple : « Où a lieu la keynote d'ouverture ? »)."
        ),
        "too_long": (
            "Votre message est un peu long pour moi ({length} caractères). Posez votre question en {limit} "
            "caractères au plus, une question à la fois."
        ),
        "busy": (
            "Je travaille encore sur votre question précédente. J'y réponds d'abord ; renvoyez celle-ci "
            "quand vous aurez la réponse."
        ),
        "rate_limited": (
            "Vous envoyez des messages plus vite que je ne peux répondre. Attendez une minute avant de "
            "redemander ; les messages envoyés d'ici là resteront sans réponse."
        ),
        "not_allowed": "Désolé, cet assistant est réservé aux participants inscrits à l'événement.",
        "welcome": (
            "Bonjour ! Je suis l'assistant de l'événement. Posez-moi vos questions : sessions, intervenants, "
            "salles, horaires, le lieu."
        ),
        "conversation_reset": "(Nous avons beaucoup échangé : je reprends une nouvelle conversation.)",
        "dont_know": (
            "Désolé, je ne trouve pas cela dans les informations de l'événement. Demandez à {help_desk} : "
            "on vous aidera volontiers."
        ),
        "guardrail": (
            "Désolé, je ne peux pas vous aider sur ce point. Je réponds aux questions sur l'événement."
        ),
        "apology": (
            "Désolé, je ne peux pas répondre pour le moment. Réessayez dans une minute ou demandez à "
            "{help_desk}."
        ),
        "budget": (
            "Je reçois beaucoup de questions en ce moment ! Merci de me reposer la vôtre dans une minute."
        ),
        "greeting": (
            "Bonjour ! Je suis l'assistant de l'événement. Posez-moi vos questions sur les sessions, les "
            "intervenants, les salles, les horaires ou le lieu, par exemple : « Où a lieu la keynote "
            "d'ouverture ? », « Y a-t-il une salle calme ? », « Qu'y a-t-il ensuite en salle B ? »"
        ),
        "help": (
            "Je réponds aux questions sur l'événement à partir de son programme, du guide du lieu et de la "
            "FAQ. Essayez : « Où a lieu la keynote d'ouverture ? », « Quel est le mot de passe Wi-Fi ? »"
        ),
        "unsupported_media": (
            "Désolé, je ne sais lire que les messages texte et écouter les messages vocaux. Écrivez ou dites "
            'votre question (par exemple : "Où a lieu la keynote d\'ouverture ?").'
        ),
        "audio_too_long": (
            "Ce message vocal est un peu long pour moi. Posez votre question en {limit} secondes au plus, une"
            " question à la fois, ou écrivez-la."
        ),
        "audio_too_big": (
            "Ce fichier audio est trop volumineux pour moi. Envoyez un message vocal court ou écrivez votre "
            "question."
        ),
        "audio_unreadable": (
            "Désolé, je n'ai pas pu lire cet audio. Enregistrez-le à nouveau comme message vocal ou écrivez "
            "votre question."
        ),
        "audio_unclear": "Désolé, je n'ai pas bien compris. Pouvez-vous répéter ou écrire votre question ?",
        "thanks": "Avec plaisir ! N'hésitez pas à me poser d'autres questions.",
        # Replies built from the agenda tools' results (schedule_questions.render).
        "agenda_now": "En ce moment ({time}) :",
        "agenda_next": "Ensuite, à {time} :",
        "agenda_later": "Plus tard aujourd'hui :",
        "agenda_today": "Aujourd'hui :",
        "agenda_this_morning": "Ce matin :",
        "agenda_this_afternoon": "Cet après-midi :",
        "agenda_this_evening": "Ce soir :",
        "agenda_tomorrow": "Demain :",
        "agenda_tomorrow_morning": "Demain matin :",
        "agenda_tomorrow_afternoon": "Demain après-midi :",
        "agenda_upcoming": "À venir :",
        "agenda_on_day": "Le {day} :",
        "agenda_sessions": "Sessions :",
        "agenda_room_now": "En ce moment en {room} :",
        "agenda_room_next": "Ensuite en {room} :",
        "agenda_room": "Dans la salle {room} :",
        "agenda_by_speaker": "Sessions de {speaker} :",
        "agenda_about": "Sessions sur {topic} :",
        "agenda_recommend": "Ceci pourrait vous plaire :",
        "agenda_none_now": "Aucune session en ce moment.",
        "agenda_none_next": "Plus rien n'est prévu.",
        "agenda_none_room": "Je n'ai rien trouvé de prévu en {room}.",
        "agenda_none_by_speaker": "Je n'ai trouvé aucune session de {speaker}.",
        "agenda_none_about": "Je n'ai trouvé aucune session sur {topic}.",
        "agenda_none_recommend": "Je n'ai trouvé aucune session à vous recommander.",
        "agenda_none": "Je n'ai trouvé aucune session à ce moment-là.",
        "agenda_more": "…et {count} de plus.",
        "agenda_weekdays": "lun. mar. mer. jeu. ven. sam. dim.",
        "agenda_months": "janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc.",
        "agenda_date": "{weekday} {day} {month}",
        "agenda_not_started": "L'événement commence le {day}.",
        "agenda_over": "L'événement est terminé : il n'y a plus de sessions.",
    },
    "de": {
        "help_desk": "der Info-Theke an der Registrierung",
        "sources": "Quellen:",
        "quoted": "Das steht in den Unterlagen der Veranstaltung (auf Englisch):",
        "unsupported": (
            "Entschuldigung, ich kann vorerst nur Textnachrichten lesen. Bitte tippen Sie Ihre Frage "
            '(zum Beispiel: „Wo ist die Eröffnungs-Keynote?").'
        ),
        "too_long": (
            "Ihre Nachricht ist etwas lang für mich ({length} Zeichen). Bitte fragen Sie in höchstens "
            "{limit} Zeichen, eine Frage nach der anderen."
        ),
        "busy": (
            "Ich arbeite noch an Ihrer vorherigen Frage. Ich beantworte sie zuerst; senden Sie diese bitte "
            "erneut, wenn Sie die Antwort haben."
        ),
        "rate_limited": (
            "Sie senden Nachrichten schneller, als ich antworten kann. Bitte warten Sie eine Minute; bis "
            "dahin gesendete Nachrichten werden nicht beantwortet."
        ),
        "not_allowed": "Entschuldigung, dieser Assistent ist nur für registrierte Teilnehmende da.",
        "welcome": (
            "Hallo! Ich bin der Assistent der Veranstaltung. Fragen Sie mich alles: Sessions, Vortragende, "
            "Räume, Zeiten, den Veranstaltungsort."
        ),
        "conversation_reset": "(Wir haben viel geschrieben, daher beginne ich ein neues Gespräch.)",
        "dont_know": (
            "Entschuldigung, das finde ich nicht in den Informationen zur Veranstaltung. Bitte fragen Sie "
            "bei {help_desk}: Dort hilft man Ihnen gern."
        ),
        "guardrail": (
            "Entschuldigung, dabei kann ich nicht helfen. Ich beantworte Fragen zur Veranstaltung."
        ),
        "apology": (
            "Entschuldigung, ich kann gerade nicht antworten. Versuchen Sie es in einer Minute erneut oder "
            "fragen Sie bei {help_desk}."
        ),
        "budget": "Gerade kommen sehr viele Fragen an! Bitte fragen Sie mich in einer Minute noch einmal.",
        "greeting": (
            "Hallo! Ich bin der Assistent der Veranstaltung. Fragen Sie mich nach Sessions, Vortragenden, "
            'Räumen, Zeiten oder dem Veranstaltungsort, zum Beispiel: „Wo ist die Eröffnungs-Keynote?", '
            '„Gibt es einen Ruheraum?", „Was läuft als Nächstes in Saal B?"'
        ),
        "help": (
            "Ich beantworte Fragen zur Veranstaltung aus Programm, Geländeführer und FAQ. Probieren Sie: "
            '„Wo ist die Eröffnungs-Keynote?", „Wie lautet das WLAN-Passwort?"'
        ),
        "unsupported_media": (
            "Entschuldigung, ich kann nur Textnachrichten lesen und Sprachnachrichten anhören. Schreiben oder"
            ' sagen Sie Ihre Frage (zum Beispiel: "Wo ist die Eröffnungs-Keynote?").'
        ),
        "audio_too_long": (
            "Diese Sprachnachricht ist etwas lang für mich. Bitte fragen Sie in höchstens {limit} Sekunden, "
            "eine Frage nach der anderen, oder schreiben Sie sie."
        ),
        "audio_too_big": (
            "Diese Audiodatei ist zu groß für mich. Senden Sie eine kurze Sprachnachricht oder schreiben Sie "
            "Ihre Frage."
        ),
        "audio_unreadable": (
            "Entschuldigung, ich konnte diese Audiodatei nicht abspielen. Nehmen Sie sie bitte als "
            "Sprachnachricht neu auf oder schreiben Sie Ihre Frage."
        ),
        "audio_unclear": (
            "Entschuldigung, das habe ich nicht verstanden. Können Sie es wiederholen oder Ihre Frage "
            "schreiben?"
        ),
        "thanks": "Gern geschehen! Fragen Sie jederzeit.",
        # Replies built from the agenda tools' results (schedule_questions.render).
        "agenda_now": "Jetzt ({time}):",
        "agenda_next": "Als Nächstes, um {time}:",
        "agenda_later": "Später heute:",
        "agenda_today": "Heute:",
        "agenda_this_morning": "Heute Vormittag:",
        "agenda_this_afternoon": "Heute Nachmittag:",
        "agenda_this_evening": "Heute Abend:",
        "agenda_tomorrow": "Morgen:",
        "agenda_tomorrow_morning": "Morgen Vormittag:",
        "agenda_tomorrow_afternoon": "Morgen Nachmittag:",
        "agenda_upcoming": "Demnächst:",
        "agenda_on_day": "Am {day}:",
        "agenda_sessions": "Sessions:",
        "agenda_room_now": "Jetzt in {room}:",
        "agenda_room_next": "Als Nächstes in {room}:",
        "agenda_room": "Im Raum {room}:",
        "agenda_by_speaker": "Sessions von {speaker}:",
        "agenda_about": "Vorträge über {topic}:",
        "agenda_recommend": "Das könnte Sie interessieren:",
        "agenda_none_now": "Gerade läuft keine Session.",
        "agenda_none_next": "Es ist nichts mehr geplant.",
        "agenda_none_room": "In {room} habe ich nichts Geplantes gefunden.",
        "agenda_none_by_speaker": "Ich habe keine Session von {speaker} gefunden.",
        "agenda_none_about": "Ich habe keine Session über {topic} gefunden.",
        "agenda_none_recommend": "Ich habe keine Session gefunden, die ich empfehlen kann.",
        "agenda_none": "Zu dieser Zeit habe ich keine Session gefunden.",
        "agenda_more": "…und {count} weitere.",
        "agenda_weekdays": "Mo. Di. Mi. Do. Fr. Sa. So.",
        "agenda_months": "Jan. Feb. März Apr. Mai Juni Juli Aug. Sept. Okt. Nov. Dez.",
        "agenda_date": "{weekday}, {day}. {month}",
        "agenda_not_started": "Die Veranstaltung beginnt am {day}.",
        "agenda_over": "Die Veranstaltung ist vorbei: Es gibt keine Sessions mehr.",
    },
    "tr": {
        "help_desk": "kayıt alanındaki yardım masasına",
        "sources": "Kaynaklar:",
        "quoted": "Etkinlik belgelerinde şöyle yazıyor (İngilizce):",
        "unsupported": (
            "Üzgünüm, şimdilik yalnızca metin mesajlarını okuyabiliyorum. Lütfen sorunuzu yazın "
            '(örneğin: "Açılış konuşması nerede?").'
        ),
        "too_long": (
            "Mesajınız benim için biraz uzun ({length} karakter). Lütfen en fazla {limit} karakterle, her "
            "seferinde bir soru sorun."
        ),
        "busy": (
            "Hâlâ önceki sorunuz üzerinde çalışıyorum. Önce onu yanıtlayacağım; yanıtı aldıktan sonra "
            "bunu yeniden gönderin."
        ),
        "rate_limited": (
            "Yanıtlayabileceğimden hızlı mesaj gönderiyorsunuz. Lütfen tekrar sormadan önce bir dakika "
            "bekleyin; o zamana kadar gönderilen mesajlar yanıtlanmayacak."
        ),
        "not_allowed": "Üzgünüm, bu asistan yalnızca etkinliğe kayıtlı katılımcılar içindir.",
        "welcome": (
            "Merhaba! Ben etkinlik asistanıyım. Bana her şeyi sorabilirsiniz: oturumlar, konuşmacılar, "
            "salonlar, saatler, mekân."
        ),
        "conversation_reset": "(Epey konuştuk, bu yüzden yeni bir sohbet başlattım.)",
        "dont_know": (
            "Üzgünüm, bunu etkinlik bilgilerinde bulamadım. Lütfen {help_desk} sorun: size memnuniyetle "
            "yardımcı olacaklar."
        ),
        "guardrail": "Üzgünüm, bu konuda yardımcı olamam. Etkinlikle ilgili soruları yanıtlayabilirim.",
        "apology": (
            "Üzgünüm, şu anda yanıt veremiyorum. Bir dakika sonra tekrar deneyin veya {help_desk} sorun."
        ),
        "budget": "Şu anda çok fazla soru geliyor! Lütfen bir dakika sonra tekrar sorun.",
        "greeting": (
            "Merhaba! Ben etkinlik asistanıyım. Bana oturumları, konuşmacıları, salonları, saatleri veya "
            'mekânı sorun, örneğin: "Açılış konuşması nerede?", "Sessiz bir oda var mı?", '
            '"B salonunda sırada ne var?"'
        ),
        "help": (
            "Etkinlikle ilgili soruları programdan, mekân rehberinden ve SSS'den yanıtlıyorum. Deneyin: "
            '"Açılış konuşması nerede?", "Wi-Fi şifresi nedir?"'
        ),
        "unsupported_media": (
            "Üzgünüm, yalnızca metin mesajlarını okuyabilir ve sesli mesajları dinleyebilirim. Sorunuzu yazın"
            ' veya söyleyin (örneğin: "Açılış konuşması nerede?").'
        ),
        "audio_too_long": (
            "Bu sesli mesaj benim için biraz uzun. Lütfen en fazla {limit} saniyede, her seferinde bir soru "
            "sorun ya da yazın."
        ),
        "audio_too_big": (
            "Bu ses dosyası benim için çok büyük. Kısa bir sesli mesaj gönderin veya sorunuzu yazın."
        ),
        "audio_unreadable": (
            "Üzgünüm, bu sesi oynatamadım. Lütfen sesli mesaj olarak yeniden kaydedin veya sorunuzu yazın."
        ),
        "audio_unclear": "Üzgünüm, tam anlayamadım. Tekrar söyler misiniz ya da sorunuzu yazar mısınız?",
        "thanks": "Rica ederim! İstediğiniz zaman sorun.",
        # Replies built from the agenda tools' results (schedule_questions.render).
        "agenda_now": "Şu anda ({time}):",
        "agenda_next": "Sırada, saat {time}:",
        "agenda_later": "Bugün daha sonra:",
        "agenda_today": "Bugün:",
        "agenda_this_morning": "Bu sabah:",
        "agenda_this_afternoon": "Bu öğleden sonra:",
        "agenda_this_evening": "Bu akşam:",
        "agenda_tomorrow": "Yarın:",
        "agenda_tomorrow_morning": "Yarın sabah:",
        "agenda_tomorrow_afternoon": "Yarın öğleden sonra:",
        "agenda_upcoming": "Yaklaşan oturumlar:",
        "agenda_on_day": "{day}:",
        "agenda_sessions": "Oturumlar:",
        "agenda_room_now": "{room}, şu anda:",
        "agenda_room_next": "{room}, sırada:",
        "agenda_room": "{room}:",
        "agenda_by_speaker": "{speaker} oturumları:",
        "agenda_about": "{topic} hakkında oturumlar:",
        "agenda_recommend": "İlginizi çekebilir:",
        "agenda_none_now": "Şu anda devam eden bir oturum yok.",
        "agenda_none_next": "Başka planlanmış bir şey yok.",
        "agenda_none_room": "{room} için planlanmış bir şey bulamadım.",
        "agenda_none_by_speaker": "{speaker} için bir oturum bulamadım.",
        "agenda_none_about": "{topic} hakkında bir oturum bulamadım.",
        "agenda_none_recommend": "Önerebileceğim bir oturum bulamadım.",
        "agenda_none": "O saatte bir oturum bulamadım.",
        "agenda_more": "…ve {count} oturum daha.",
        "agenda_weekdays": "Pzt Sal Çar Per Cum Cmt Paz",
        "agenda_months": "Oca Şub Mar Nis May Haz Tem Ağu Eyl Eki Kas Ara",
        "agenda_date": "{day} {month} {weekday}",
        "agenda_not_started": "Etkinlik {day} tarihinde başlıyor.",
        "agenda_over": "Etkinlik sona erdi: başka oturum yok.",
    },
    "ar": {
        "help_desk": "مكتب المساعدة عند التسجيل",
        "sources": "المصادر:",
        "quoted": "هذا ما تقوله وثائق الفعالية (بالإنجليزية):",
        "unsupported": (
            "عذرًا، لا أستطيع حاليًا قراءة سوى الرسائل النصية. "
            'يُرجى كتابة سؤالك (مثلًا: "أين الكلمة الافتتاحية؟").'
        ),
        "too_long": (
            "رسالتك طويلة بعض الشيء ({length} حرفًا). يُرجى السؤال في {limit} حرفًا على الأكثر، سؤالًا "
            "واحدًا في كل مرة."
        ),
        "busy": (
            "ما زلت أعمل على سؤالك السابق. سأجيب عنه أولًا؛ يُرجى إرسال هذا السؤال مجددًا بعد وصول الإجابة."
        ),
        "rate_limited": (
            "ترسل الرسائل أسرع مما أستطيع الرد. يُرجى الانتظار دقيقة قبل السؤال مجددًا؛ لن يتم الرد على "
            "الرسائل المرسلة حتى ذلك الحين."
        ),
        "not_allowed": "عذرًا، هذا المساعد متاح فقط للحضور المسجلين في الفعالية.",
        "welcome": (
            "مرحبًا! أنا مساعد الفعالية. اسألني عن أي شيء: الجلسات، المتحدثين، القاعات، المواعيد، المكان."
        ),
        "conversation_reset": "(تحدثنا كثيرًا، لذا بدأت محادثة جديدة.)",
        "dont_know": "عذرًا، لم أجد ذلك في معلومات الفعالية. يُرجى السؤال في {help_desk}: سيسعدهم مساعدتك.",
        "guardrail": "عذرًا، لا أستطيع المساعدة في ذلك. يمكنني الإجابة عن أسئلة حول الفعالية.",
        "apology": "عذرًا، لا أستطيع الإجابة الآن. حاول مجددًا بعد دقيقة، أو اسأل في {help_desk}.",
        "budget": "تصلني أسئلة كثيرة الآن! يُرجى أن تسألني مرة أخرى بعد دقيقة.",
        "greeting": (
            "مرحبًا! أنا مساعد الفعالية. اسألني عن الجلسات أو المتحدثين أو القاعات أو المواعيد أو المكان، "
            'مثلًا: "أين الكلمة الافتتاحية؟"، "هل توجد غرفة هادئة؟"، "ما التالي في القاعة B؟"'
        ),
        "help": (
            "أجيب عن أسئلة الفعالية من جدول أعمالها ودليل المكان والأسئلة الشائعة. جرّب: "
            '"أين الكلمة الافتتاحية؟"، "ما كلمة مرور الواي فاي؟"'
        ),
        "unsupported_media": (
            "عذرًا، يمكنني فقط قراءة الرسائل النصية والاستماع إلى الرسائل الصوتية. اكتب سؤالك أو قله (مثلًا: "
            '"أين الكلمة الافتتاحية؟").'
        ),
        "audio_too_long": (
            "هذه الرسالة الصوتية طويلة بعض الشيء. اسأل في {limit} ثانية على الأكثر، سؤالًا واحدًا في كل مرة، "
            "أو اكتبه."
        ),
        "audio_too_big": "هذا الملف الصوتي كبير جدًا. أرسل رسالة صوتية قصيرة أو اكتب سؤالك.",
        "audio_unreadable": "عذرًا، لم أتمكن من تشغيل هذا الصوت. سجّله مرة أخرى كرسالة صوتية أو اكتب سؤالك.",
        "audio_unclear": "عذرًا، لم أفهم ذلك جيدًا. هل يمكنك إعادته أو كتابة سؤالك؟",
        "thanks": "على الرحب والسعة! اسألني في أي وقت.",
        # Replies built from the agenda tools' results (schedule_questions.render).
        "agenda_now": "الآن ({time}):",
        "agenda_next": "التالي، في {time}:",
        "agenda_later": "لاحقًا اليوم:",
        "agenda_today": "اليوم:",
        "agenda_this_morning": "هذا الصباح:",
        "agenda_this_afternoon": "بعد ظهر اليوم:",
        "agenda_this_evening": "هذا المساء:",
        "agenda_tomorrow": "غدًا:",
        "agenda_tomorrow_morning": "غدًا صباحًا:",
        "agenda_tomorrow_afternoon": "غدًا بعد الظهر:",
        "agenda_upcoming": "الجلسات القادمة:",
        "agenda_on_day": "يوم {day}:",
        "agenda_sessions": "الجلسات:",
        "agenda_room_now": "في {room} الآن:",
        "agenda_room_next": "التالي في {room}:",
        "agenda_room": "في {room}:",
        "agenda_by_speaker": "جلسات {speaker}:",
        "agenda_about": "جلسات عن {topic}:",
        "agenda_recommend": "قد يعجبك:",
        "agenda_none_now": "لا توجد جلسة الآن.",
        "agenda_none_next": "لا يوجد شيء آخر في الجدول.",
        "agenda_none_room": "لم أجد شيئًا مجدولًا في {room}.",
        "agenda_none_by_speaker": "لم أجد أي جلسة يقدمها {speaker}.",
        "agenda_none_about": "لم أجد أي جلسة عن {topic}.",
        "agenda_none_recommend": "لم أجد جلسة أوصي بها.",
        "agenda_none": "لم أجد أي جلسة في ذلك الوقت.",
        "agenda_more": "…و{count} جلسات أخرى.",
        "agenda_weekdays": "الاثنين الثلاثاء الأربعاء الخميس الجمعة السبت الأحد",
        "agenda_months": "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
        "agenda_date": "{weekday} {day} {month}",
        "agenda_not_started": "تبدأ الفعالية يوم {day}.",
        "agenda_over": "انتهت الفعالية: لا توجد جلسات أخرى.",
    },
}


_PER_LANGUAGE = re.compile(r"^\s*[A-Za-z]{2}\s*=")


def help_desk(configured: str, language: str | None) -> str:
    """Where to send someone the assistant cannot help, in ``language``: ``HELP_DESK`` as configured (one
    text for every language, or ``en=...|es=...`` per language, each fitting "ask at ___"), else the
    assistant's own words for the help desk at registration."""
    configured = configured.strip()
    if not configured:
        return say("help_desk", language)
    parts = configured.split("|")
    if not all(_PER_LANGUAGE.match(part) for part in parts):
        return configured  # one text for every language ("desk B (code=7)" included)
    per_language = {part.split("=", 1)[0].strip().lower(): part.split("=", 1)[1].strip() for part in parts}
    return (
        per_language.get(language or DEFAULT_LANGUAGE)
        or per_language.get(DEFAULT_LANGUAGE)
        or say("help_desk", language)
    )


def say(key: str, language: str | None = None, **values: object) -> str:
    """The text ``key`` in ``language`` (else the default language), with ``values`` filled in."""
    texts = TEXTS.get(language or DEFAULT_LANGUAGE) or TEXTS[DEFAULT_LANGUAGE]
    template = texts.get(key) or TEXTS[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template
